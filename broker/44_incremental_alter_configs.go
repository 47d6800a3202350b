package broker

// IncrementalAlterConfigs: v0–1
//
// Behavior:
//   - SET, DELETE, APPEND and SUBTRACT (the last two on list configs such
//     as cleanup.policy only; INVALID_CONFIG otherwise) applied to the
//     resource's current overrides, validated as a whole before anything
//     changes. Topic and broker resources as in AlterConfigs.
//   - ValidateOnly checks without applying; the answer follows the
//     metadata write.
//
// Version notes:
//   - v1+: flexible.

import (
	"github.com/gregor-dst/gregor/broker/configs"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { regKey(44, 0, 1, (*Broker).serveIncrementalAlterConfigs) }

func (b *Broker) serveIncrementalAlterConfigs(r *request) {
	req := r.req.(*kmsg.IncrementalAlterConfigsRequest)
	resp := req.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
	changed := false
	for _, rr := range req.Resources {
		sr := kmsg.NewIncrementalAlterConfigsResponseResource()
		sr.ResourceType, sr.ResourceName = rr.ResourceType, rr.ResourceName
		var ops []configs.Op
		for _, c := range rr.Configs {
			ops = append(ops, configs.Op{Key: c.Name, Op: c.Op, Value: c.Value})
		}
		apply, e, msg := b.planAlter(rr.ResourceType, rr.ResourceName,
			func(cur configs.Set, l configs.Layers) (configs.Set, error) { return configs.AlterTopic(cur, ops, l) },
			func(cur configs.Set) (configs.Set, error) { return configs.AlterBroker(cur, ops) })
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
