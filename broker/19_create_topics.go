package broker

// CreateTopics: v2–7
//
// Behavior:
//   - Creates each topic with its partitions (-1: num.partitions) and
//     replication factor (-1: default.replication.factor), validating the
//     name (INVALID_TOPIC_EXCEPTION, also for a '.'/'_' collision), the
//     counts (INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR: one broker
//     holds one replica), a manual assignment (INVALID_REPLICA_ASSIGNMENT)
//     and the configs (INVALID_CONFIG); an existing name is
//     TOPIC_ALREADY_EXISTS and a name given twice INVALID_REQUEST.
//   - ValidateOnly checks without creating. The answer is sent once the
//     new topics are durable in the metadata file.
//
// Version notes:
//   - v5+: flexible; the answer carries partitions, replication factor and
//     the topic's configs. v7+: topic id.

import (
	"errors"
	"fmt"

	"github.com/gregor-dst/gregor/broker/configs"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { regKey(19, 2, 7, (*Broker).serveCreateTopics) }

func (b *Broker) serveCreateTopics(r *request) {
	req := r.req.(*kmsg.CreateTopicsRequest)
	resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
	seen := map[string]int{}
	for _, rt := range req.Topics {
		seen[rt.Topic]++
	}
	created := false
	for _, rt := range req.Topics {
		st := b.createOne(rt, seen[rt.Topic] > 1, req.ValidateOnly)
		created = created || (st.ErrorCode == 0 && !req.ValidateOnly)
		resp.Topics = append(resp.Topics, st)
	}
	if !created {
		r.respond(resp)
		return
	}
	b.saveMeta(func(err error) {
		if err != nil {
			for i := range resp.Topics {
				if resp.Topics[i].ErrorCode == 0 {
					resp.Topics[i].ErrorCode = kerr.KafkaStorageError.Code
				}
			}
		}
		r.respond(resp)
	})
}

func (b *Broker) createOne(rt kmsg.CreateTopicsRequestTopic, duplicate, validateOnly bool) kmsg.CreateTopicsResponseTopic {
	st := kmsg.NewCreateTopicsResponseTopic()
	st.Topic = rt.Topic
	fail := func(e *kerr.Error, format string, args ...any) kmsg.CreateTopicsResponseTopic {
		msg := fmt.Sprintf(format, args...)
		st.ErrorCode, st.ErrorMessage = e.Code, &msg
		st.NumPartitions, st.ReplicationFactor = -1, -1
		return st
	}
	partitions, overrides, e, msg := b.checkNewTopic(rt, duplicate)
	if e != nil {
		return fail(e, "%s", msg)
	}
	st.NumPartitions, st.ReplicationFactor = partitions, 1
	if validateOnly {
		st.Configs = b.createdConfigs(overrides)
		return st
	}
	t, err := b.createTopic(rt.Topic, partitions, overrides)
	if err != nil {
		return fail(kerr.KafkaStorageError, "creating topic: %v", err)
	}
	st.TopicID = t.id
	st.Configs = b.createdConfigs(overrides)
	return st
}

// checkNewTopic validates a CreateTopics entry and returns its partition
// count and config overrides.
func (b *Broker) checkNewTopic(rt kmsg.CreateTopicsRequestTopic, duplicate bool) (int32, configs.Set, *kerr.Error, string) {
	var none configs.Set
	bs := b.brokerSettings()
	partitions, rf := rt.NumPartitions, rt.ReplicationFactor
	if len(rt.ReplicaAssignment) > 0 {
		partitions, rf = int32(len(rt.ReplicaAssignment)), int16(len(rt.ReplicaAssignment[0].Replicas))
	}
	if partitions == -1 {
		partitions = bs.NumPartitions
	}
	if rf == -1 {
		rf = bs.DefaultReplicationFactor
	}
	switch {
	case duplicate:
		return 0, none, kerr.InvalidRequest, fmt.Sprintf("Create topics request from client contains multiple entries for the topic %s", rt.Topic)
	case validTopicName(rt.Topic) != nil:
		return 0, none, kerr.InvalidTopicException, validTopicName(rt.Topic).Error()
	case b.topics[rt.Topic] != nil:
		return 0, none, kerr.TopicAlreadyExists, fmt.Sprintf("Topic '%s' already exists.", rt.Topic)
	case b.collides(rt.Topic) != "":
		return 0, none, kerr.InvalidTopicException, fmt.Sprintf("Topic '%s' collides with existing topic: %s", rt.Topic, b.collides(rt.Topic))
	case partitions <= 0:
		return 0, none, kerr.InvalidPartitions, "Number of partitions must be larger than 0."
	case rf <= 0:
		return 0, none, kerr.InvalidReplicationFactor, "Replication factor must be larger than 0."
	case rf > 1:
		return 0, none, kerr.InvalidReplicationFactor, fmt.Sprintf("Unable to replicate the partition %d time(s): The target replication factor of %d cannot be reached because only 1 broker(s) are registered.", rf, rf)
	case len(b.topics) >= b.cfg.TopicsMax || b.partitionCount()+int(partitions) > b.cfg.PartitionsMax:
		return 0, none, kerr.PolicyViolation, fmt.Sprintf("the broker's limit of %d topics / %d partitions would be exceeded", b.cfg.TopicsMax, b.cfg.PartitionsMax)
	}
	if e, msg := b.checkAssignment(rt.ReplicaAssignment); e != nil {
		return 0, none, e, msg
	}
	var assigned []configs.Assignment
	for _, c := range rt.Configs {
		assigned = append(assigned, configs.Assignment{Key: c.Name, Value: c.Value})
	}
	overrides, err := configs.CreateTopic(assigned, b.layers(configs.Set{}))
	if err != nil {
		e, msg := configError(err)
		return 0, none, e, msg
	}
	return partitions, overrides, nil, ""
}

func (b *Broker) checkAssignment(as []kmsg.CreateTopicsRequestTopicReplicaAssignment) (*kerr.Error, string) {
	for i, a := range as {
		if a.Partition != int32(i) {
			return kerr.InvalidReplicaAssignment, "partitions in a manual assignment must be consecutive from 0"
		}
		if len(a.Replicas) != 1 || a.Replicas[0] != b.cfg.NodeID {
			return kerr.InvalidReplicaAssignment, fmt.Sprintf("partition %d: replicas %v: this cluster has one broker, %d", i, a.Replicas, b.cfg.NodeID)
		}
	}
	return nil, ""
}

// createTopic makes a topic and its logs in memory; the caller saves the
// metadata before answering.
func (b *Broker) createTopic(name string, partitions int32, overrides configs.Set) (*topic, error) {
	t, err := b.openTopic(name, b.newTopicID(), partitions, overrides)
	if err != nil {
		return nil, err
	}
	b.topics[name] = t
	b.topicIDs[t.id] = t
	b.log.Info("topic created", "topic", name, "partitions", partitions)
	return t, nil
}

// saveMeta makes the current metadata durable, then calls done.
func (b *Broker) saveMeta(done func(error)) {
	b.meta.save(b.snapshot, done)
}

// configError turns a configs error into Kafka's code and message.
func configError(err error) (*kerr.Error, string) {
	var ce *configs.Error
	if errors.As(err, &ce) {
		return ce.Code, ce.Message
	}
	return kerr.InvalidConfig, err.Error()
}
