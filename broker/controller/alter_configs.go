package controller

import (
	"fmt"
	"strconv"

	"github.com/gregor-dst/gregor/broker/configs"
	"github.com/gregor-dst/gregor/broker/meta"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// AlterConfigs and IncrementalAlterConfigs on topics and brokers, with
// the semantics and messages of broker/configs (as the single-node
// broker answers), written as config records: one per key set or
// removed. A broker resource is "" (the cluster-wide default) or a
// broker id. A change that turns unclean.leader.election.enable on gets
// its unclean elections in the same entry, as Kafka's controller elects
// at once when the config changes.

// alterConfigs is legacy AlterConfigs: the configs given become the
// resource's whole override set.
func (c *Controller) alterConfigs(req kmsg.Request, respond func(kmsg.Response)) *op {
	r := req.(*kmsg.AlterConfigsRequest)
	run := func(w *work) func(int64) {
		resp := r.ResponseKind().(*kmsg.AlterConfigsResponse)
		for _, rr := range r.Resources {
			sr := kmsg.NewAlterConfigsResponseResource()
			sr.ResourceType, sr.ResourceName = rr.ResourceType, rr.ResourceName
			var assigned []configs.Assignment
			for _, cf := range rr.Configs {
				assigned = append(assigned, configs.Assignment{Key: cf.Name, Value: cf.Value})
			}
			e, msg := c.alterResource(w, rr.ResourceType, rr.ResourceName, r.ValidateOnly,
				func(_ configs.Set, l configs.Layers) (configs.Set, error) { return configs.ReplaceTopic(assigned, l) },
				func(configs.Set) (configs.Set, error) { return configs.ReplaceBroker(assigned) })
			if e != nil {
				sr.ErrorCode, sr.ErrorMessage = e.Code, &msg
			}
			resp.Resources = append(resp.Resources, sr)
		}
		if !r.ValidateOnly {
			c.electUnclean(w)
		}
		return func(int64) { respond(resp) }
	}
	return &op{run: run, reject: rejectWith(req, respond)}
}

// incrementalAlterConfigs applies SET, DELETE, APPEND and SUBTRACT to the
// resource's current overrides.
func (c *Controller) incrementalAlterConfigs(req kmsg.Request, respond func(kmsg.Response)) *op {
	r := req.(*kmsg.IncrementalAlterConfigsRequest)
	run := func(w *work) func(int64) {
		resp := r.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
		for _, rr := range r.Resources {
			sr := kmsg.NewIncrementalAlterConfigsResponseResource()
			sr.ResourceType, sr.ResourceName = rr.ResourceType, rr.ResourceName
			var ops []configs.Op
			for _, cf := range rr.Configs {
				ops = append(ops, configs.Op{Key: cf.Name, Op: cf.Op, Value: cf.Value})
			}
			e, msg := c.alterResource(w, rr.ResourceType, rr.ResourceName, r.ValidateOnly,
				func(cur configs.Set, l configs.Layers) (configs.Set, error) { return configs.AlterTopic(cur, ops, l) },
				func(cur configs.Set) (configs.Set, error) { return configs.AlterBroker(cur, ops) })
			if e != nil {
				sr.ErrorCode, sr.ErrorMessage = e.Code, &msg
			}
			resp.Resources = append(resp.Resources, sr)
		}
		if !r.ValidateOnly {
			c.electUnclean(w)
		}
		return func(int64) { respond(resp) }
	}
	return &op{run: run, reject: rejectWith(req, respond)}
}

// alterResource computes a resource's new override set with topicOp or
// brokerOp and, unless validateOnly, writes the difference.
func (c *Controller) alterResource(w *work, rtype kmsg.ConfigResourceType, name string, validateOnly bool,
	topicOp func(configs.Set, configs.Layers) (configs.Set, error),
	brokerOp func(configs.Set) (configs.Set, error),
) (*kerr.Error, string) {
	var cur, next configs.Set
	var err error
	var mtype int8
	switch rtype {
	case kmsg.ConfigResourceTypeTopic:
		t := w.im.Topics[name]
		if t == nil {
			return kerr.UnknownTopicOrPartition, fmt.Sprintf("Topic %s does not exist.", name)
		}
		cur, mtype = configs.SetOf(t.Configs), meta.ResourceTopic
		next, err = topicOp(cur, c.layers(w.im, cur))
	case kmsg.ConfigResourceTypeBroker:
		m, e, msg := brokerConfigs(w.im, name)
		if e != nil {
			return e, msg
		}
		cur, mtype = configs.SetOf(m), meta.ResourceBroker
		next, err = brokerOp(cur)
	default:
		return kerr.InvalidRequest, fmt.Sprintf("Unsupported resource type: %v", rtype)
	}
	if err != nil {
		return configError(err)
	}
	if !validateOnly {
		w.emit(configRecords(mtype, name, cur, next)...)
	}
	return nil, ""
}

// brokerConfigs is a broker resource's dynamic configs: "" the cluster
// default, else a broker id's (Kafka's ConfigurationControlManager
// refuses other names).
func brokerConfigs(im *meta.Image, name string) (map[string]string, *kerr.Error, string) {
	if name == "" {
		return im.ClusterConfigs, nil, ""
	}
	id, err := strconv.ParseInt(name, 10, 32)
	switch {
	case err != nil:
		return nil, kerr.InvalidRequest, fmt.Sprintf("Illegal non-integral BROKER resource type name %s", name)
	case id < 0:
		return nil, kerr.InvalidRequest, fmt.Sprintf("Illegal negative BROKER resource type name %s", name)
	}
	return im.BrokerConfigs[int32(id)], nil, ""
}

// configRecords are the records that turn cur into next: a set for each
// new or changed key, then a removal for each key gone, in key order.
func configRecords(rtype int8, resource string, cur, next configs.Set) []meta.Record {
	var recs []meta.Record
	for key, value := range next.All() {
		if old, ok := cur.Get(key); !ok || old != value {
			v := value
			recs = append(recs, meta.Record{Config: &meta.ConfigRecord{ResourceType: rtype, Resource: resource, Name: key, Value: &v}})
		}
	}
	for key := range cur.All() {
		if !next.Has(key) {
			recs = append(recs, meta.Record{Config: &meta.ConfigRecord{ResourceType: rtype, Resource: resource, Name: key}})
		}
	}
	return recs
}

// electUnclean elects leaders for leaderless partitions of topics that
// allow unclean election now.
func (c *Controller) electUnclean(w *work) {
	w.emit(meta.ElectUncleanLeaders(w.im, c.unclean(w.im))...)
}
