package broker

// CreatePartitions: v0–3
//
// Behavior:
//   - Raises a topic's partition count. Lowering it or asking for the
//     current count is INVALID_PARTITIONS (with Kafka's messages), an
//     unknown topic UNKNOWN_TOPIC_OR_PARTITION, a topic named twice
//     INVALID_REQUEST, an assignment naming another broker
//     INVALID_REPLICA_ASSIGNMENT. ValidateOnly checks without creating.
//     The answer follows the metadata write.
//
// Version notes:
//   - v2+: flexible.

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { regKey(37, 0, 3, (*Broker).serveCreatePartitions) }

func (b *Broker) serveCreatePartitions(r *request) {
	req := r.req.(*kmsg.CreatePartitionsRequest)
	resp := req.ResponseKind().(*kmsg.CreatePartitionsResponse)
	seen := map[string]int{}
	for _, rt := range req.Topics {
		seen[rt.Topic]++
	}
	changed := false
	for _, rt := range req.Topics {
		st := kmsg.NewCreatePartitionsResponseTopic()
		st.Topic = rt.Topic
		if e, msg := b.growTopic(rt, seen[rt.Topic] > 1, req.ValidateOnly); e != nil {
			st.ErrorCode, st.ErrorMessage = e.Code, &msg
		} else {
			changed = changed || !req.ValidateOnly
		}
		resp.Topics = append(resp.Topics, st)
	}
	if !changed {
		r.respond(resp)
		return
	}
	b.saveMeta(func(err error) {
		if err != nil {
			b.log.Error("saving metadata after create partitions", "err", err)
		}
		r.respond(resp)
	})
}

func (b *Broker) growTopic(rt kmsg.CreatePartitionsRequestTopic, duplicate, validateOnly bool) (*kerr.Error, string) {
	t := b.topics[rt.Topic]
	switch {
	case duplicate:
		return kerr.InvalidRequest, "Duplicate topic in request."
	case t == nil:
		return kerr.UnknownTopicOrPartition, fmt.Sprintf("The topic '%s' does not exist.", rt.Topic)
	case int(rt.Count) < len(t.partitions):
		return kerr.InvalidPartitions, fmt.Sprintf("Topic currently has %d partitions, which is higher than the requested %d.", len(t.partitions), rt.Count)
	case int(rt.Count) == len(t.partitions):
		return kerr.InvalidPartitions, fmt.Sprintf("Topic already has %d partitions.", len(t.partitions))
	case b.partitionCount()+int(rt.Count)-len(t.partitions) > b.cfg.PartitionsMax:
		return kerr.PolicyViolation, fmt.Sprintf("the broker's limit of %d partitions would be exceeded", b.cfg.PartitionsMax)
	case rt.Assignment != nil && len(rt.Assignment) != int(rt.Count)-len(t.partitions):
		return kerr.InvalidReplicaAssignment, fmt.Sprintf("Increasing the number of partitions by %d but %d assignments provided.", int(rt.Count)-len(t.partitions), len(rt.Assignment))
	}
	for _, a := range rt.Assignment {
		if len(a.Replicas) != 1 || a.Replicas[0] != b.cfg.NodeID {
			return kerr.InvalidReplicaAssignment, fmt.Sprintf("replicas %v: this cluster has one broker, %d", a.Replicas, b.cfg.NodeID)
		}
	}
	if validateOnly {
		return nil, ""
	}
	for i := int32(len(t.partitions)); i < rt.Count; i++ {
		if err := b.addPartition(t, i); err != nil {
			return kerr.KafkaStorageError, err.Error()
		}
	}
	b.log.Info("partitions added", "topic", t.name, "partitions", rt.Count)
	return nil, ""
}
