package broker

// Metadata: v0–13
//
// Behavior:
//   - Lists this broker (the only one, and the controller), the cluster
//     id, and the requested topics (all of them when the request's list is
//     null, or empty at v0) with their ids and partitions: leader, leader
//     epoch, replicas and ISR are this node.
//   - A missing topic is created when the request allows it (always
//     before v4) and auto.create.topics.enable is true, with num.partitions
//     partitions; the answer waits until the creation is durable. Otherwise
//     UNKNOWN_TOPIC_OR_PARTITION (UNKNOWN_TOPIC_ID when asked by id), and
//     INVALID_TOPIC_EXCEPTION for a name Kafka would refuse.
//
// Version notes:
//   - v1+: controller id, internal flag; null topics = all. v2+: cluster
//     id. v4+: AllowAutoTopicCreation. v5+: offline replicas. v7+: leader
//     epoch. v8–10: authorized operations (not computed: -2³¹). v9+:
//     flexible. v10+: topic ids. v12+: topics may be given by id only.

import (
	"github.com/gregor-dst/gregor/broker/configs"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { regKey(3, 0, 13, (*Broker).serveMetadata) }

// authorizedOperationsUnknown is Kafka's "not requested" value.
const authorizedOperationsUnknown = -2147483648

func (b *Broker) serveMetadata(r *request) {
	req := r.req.(*kmsg.MetadataRequest)
	allTopics := req.Topics == nil || (req.Version == 0 && len(req.Topics) == 0)
	autoCreate := req.Version < 4 || req.AllowAutoTopicCreation
	var created []string
	if !allTopics && autoCreate && b.brokerSettings().AutoCreateTopicsEnable {
		created = b.autoCreate(req.Topics)
	}
	answer := func() { r.respond(b.metadataResponse(req, allTopics)) }
	if len(created) == 0 {
		answer()
		return
	}
	b.saveMeta(func(err error) {
		if err != nil {
			b.log.Error("saving auto-created topics", "topics", created, "err", err)
		}
		answer()
	})
}

// autoCreate creates the named topics that do not exist, returning their
// names. Errors (bad names, limits) surface in the answer instead.
func (b *Broker) autoCreate(topics []kmsg.MetadataRequestTopic) []string {
	var created []string
	for _, rt := range topics {
		if rt.Topic == nil || b.topics[*rt.Topic] != nil || validTopicName(*rt.Topic) != nil || b.collides(*rt.Topic) != "" {
			continue
		}
		if _, err := b.createTopic(*rt.Topic, b.brokerSettings().NumPartitions, configs.Set{}); err != nil {
			b.log.Warn("auto-create failed", "topic", *rt.Topic, "err", err)
			continue
		}
		created = append(created, *rt.Topic)
	}
	return created
}

func (b *Broker) metadataResponse(req *kmsg.MetadataRequest, allTopics bool) *kmsg.MetadataResponse {
	resp := req.ResponseKind().(*kmsg.MetadataResponse)
	host, port := b.advertised()
	broker := kmsg.NewMetadataResponseBroker()
	broker.NodeID, broker.Host, broker.Port = b.cfg.NodeID, host, port
	resp.Brokers = []kmsg.MetadataResponseBroker{broker}
	resp.ClusterID = &b.cfg.ClusterID
	resp.ControllerID = b.cfg.NodeID
	resp.AuthorizedOperations = authorizedOperationsUnknown
	if allTopics {
		for _, t := range b.sortedTopics() {
			resp.Topics = append(resp.Topics, b.metadataTopic(t))
		}
		return resp
	}
	for _, rt := range req.Topics {
		resp.Topics = append(resp.Topics, b.metadataRequested(rt))
	}
	return resp
}

func (b *Broker) metadataRequested(rt kmsg.MetadataRequestTopic) kmsg.MetadataResponseTopic {
	if rt.Topic == nil {
		if t := b.topicIDs[rt.TopicID]; t != nil {
			return b.metadataTopic(t)
		}
		st := kmsg.NewMetadataResponseTopic()
		st.TopicID = rt.TopicID
		st.ErrorCode = kerr.UnknownTopicID.Code
		return st
	}
	if t := b.topics[*rt.Topic]; t != nil {
		return b.metadataTopic(t)
	}
	st := kmsg.NewMetadataResponseTopic()
	st.Topic = rt.Topic
	st.ErrorCode = kerr.UnknownTopicOrPartition.Code
	if validTopicName(*rt.Topic) != nil {
		st.ErrorCode = kerr.InvalidTopicException.Code
	}
	return st
}

func (b *Broker) metadataTopic(t *topic) kmsg.MetadataResponseTopic {
	st := kmsg.NewMetadataResponseTopic()
	name := t.name
	st.Topic, st.TopicID = &name, t.id
	st.IsInternal = false
	st.AuthorizedOperations = authorizedOperationsUnknown
	for _, p := range t.partitions {
		sp := kmsg.NewMetadataResponseTopicPartition()
		sp.Partition = p.index
		sp.Leader = b.cfg.NodeID
		sp.LeaderEpoch = p.leaderEpoch
		sp.Replicas = []int32{b.cfg.NodeID}
		sp.ISR = []int32{b.cfg.NodeID}
		sp.OfflineReplicas = []int32{}
		st.Partitions = append(st.Partitions, sp)
	}
	return st
}
