package broker

// AlterConfigs: v0–2
//
// Behavior:
//   - Legacy, whole-set semantics: the configs given become the
//     resource's complete override set; keys not named return to their
//     defaults. Topic errors are INVALID_CONFIG with Kafka's messages;
//     broker resources ("<id>" or "" for the cluster default) follow
//     Kafka's INVALID_REQUEST for read-only or bad broker configs.
//   - ValidateOnly checks without applying. Changes take effect at once
//     (new settings reach the topic's logs) and the answer follows the
//     metadata write that makes them durable.
//
// Version notes:
//   - v2+: flexible.

import (
	"fmt"

	"github.com/gregor-dst/gregor/broker/configs"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { regKey(33, 0, 2, (*Broker).serveAlterConfigs) }

func (b *Broker) serveAlterConfigs(r *request) {
	req := r.req.(*kmsg.AlterConfigsRequest)
	resp := req.ResponseKind().(*kmsg.AlterConfigsResponse)
	changed := false
	for _, rr := range req.Resources {
		sr := kmsg.NewAlterConfigsResponseResource()
		sr.ResourceType, sr.ResourceName = rr.ResourceType, rr.ResourceName
		var assigned []configs.Assignment
		for _, c := range rr.Configs {
			assigned = append(assigned, configs.Assignment{Key: c.Name, Value: c.Value})
		}
		apply, e, msg := b.planAlter(rr.ResourceType, rr.ResourceName,
			func(cur configs.Set, l configs.Layers) (configs.Set, error) { return configs.ReplaceTopic(assigned, l) },
			func(cur configs.Set) (configs.Set, error) { return configs.ReplaceBroker(assigned) })
		if e != nil {
			sr.ErrorCode, sr.ErrorMessage = e.Code, &msg
		} else if !req.ValidateOnly {
			apply()
			changed = true
		}
		resp.Resources = append(resp.Resources, sr)
	}
	b.answerAfterMeta(r, resp, changed)
}

// planAlter computes a resource's new override set with topicOp or
// brokerOp and returns how to apply it, or the error to answer with.
func (b *Broker) planAlter(rtype kmsg.ConfigResourceType, name string,
	topicOp func(configs.Set, configs.Layers) (configs.Set, error),
	brokerOp func(configs.Set) (configs.Set, error),
) (func(), *kerr.Error, string) {
	switch rtype {
	case kmsg.ConfigResourceTypeTopic:
		t := b.topics[name]
		if t == nil {
			return nil, kerr.UnknownTopicOrPartition, fmt.Sprintf("Topic %s does not exist.", name)
		}
		next, err := topicOp(t.configs, b.layers(t.configs))
		if err != nil {
			e, msg := configError(err)
			return nil, e, msg
		}
		return func() { t.configs = next; b.settleTopic(t) }, nil, ""
	case kmsg.ConfigResourceTypeBroker:
		layer := &b.dynCluster
		if name != "" {
			if e, msg := b.checkBrokerResource(name); e != nil {
				return nil, e, msg
			}
			layer = &b.dynBroker
		}
		next, err := brokerOp(*layer)
		if err != nil {
			e, msg := configError(err)
			return nil, e, msg
		}
		return func() { *layer = next; b.resettle() }, nil, ""
	}
	return nil, kerr.InvalidRequest, fmt.Sprintf("Unsupported resource type: %v", rtype)
}

// answerAfterMeta answers once a config change is durable.
func (b *Broker) answerAfterMeta(r *request, resp kmsg.Response, changed bool) {
	if !changed {
		r.respond(resp)
		return
	}
	b.saveMeta(func(err error) {
		if err != nil {
			b.log.Error("saving configs", "err", err)
		}
		r.respond(resp)
	})
}
