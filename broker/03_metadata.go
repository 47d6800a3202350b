package broker

// Metadata: v0–13
//
// Behavior:
//   - Answers from this broker's metadata image: the unfenced brokers,
//     the cluster id, the active controller, and the requested topics (all
//     of them when the request's list is null, or empty at v0) with their
//     ids and partitions: leader (-1 and LEADER_NOT_AVAILABLE when none),
//     leader epoch, replicas, ISR and offline replicas (fenced or
//     unregistered brokers).
//   - A missing topic is created through the controller when the request
//     allows it (always before v4) and auto.create.topics.enable is true,
//     with num.partitions partitions and default.replication.factor; the
//     answer follows the controller's, and a topic this broker's image
//     does not hold yet is LEADER_NOT_AVAILABLE, which clients retry.
//     Otherwise UNKNOWN_TOPIC_OR_PARTITION (UNKNOWN_TOPIC_ID when asked
//     by id), and INVALID_TOPIC_EXCEPTION for a name Kafka would refuse.
//
// Version notes:
//   - v1+: controller id, internal flag; null topics = all. v2+: cluster
//     id. v4+: AllowAutoTopicCreation. v5+: offline replicas. v7+: leader
//     epoch. v8–10: authorized operations (not computed: -2³¹). v9+:
//     flexible. v10+: topic ids. v12+: topics may be given by id only.

import (
	"slices"

	"github.com/gregor-dst/gregor/broker/meta"
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
	autoCreate = autoCreate && b.brokerSettings().AutoCreateTopicsEnable
	answer := func() { r.respond(b.metadataResponse(req, allTopics, autoCreate)) }
	var missing []string
	if !allTopics && autoCreate {
		missing = b.missingTopics(req.Topics)
	}
	if len(missing) == 0 {
		answer()
		return
	}
	b.toController(autoCreateRequest(missing), func(resp kmsg.Response, err error) {
		if err != nil {
			b.log.Debug("auto-create not answered", "topics", missing, "err", err)
		}
		answer()
	})
}

// missingTopics lists the named topics that do not exist and could.
func (b *Broker) missingTopics(topics []kmsg.MetadataRequestTopic) []string {
	var out []string
	for _, rt := range topics {
		if rt.Topic != nil && b.topics[*rt.Topic] == nil && validTopicName(*rt.Topic) == nil {
			out = append(out, *rt.Topic)
		}
	}
	return out
}

// autoCreateRequest asks the controller for topics with the defaults.
func autoCreateRequest(names []string) *kmsg.CreateTopicsRequest {
	req := kmsg.NewPtrCreateTopicsRequest()
	req.SetVersion(7)
	req.TimeoutMillis = 30_000
	for _, name := range names {
		t := kmsg.NewCreateTopicsRequestTopic()
		t.Topic, t.NumPartitions, t.ReplicationFactor = name, -1, -1
		req.Topics = append(req.Topics, t)
	}
	return req
}

func (b *Broker) metadataResponse(req *kmsg.MetadataRequest, allTopics, autoCreate bool) *kmsg.MetadataResponse {
	resp := req.ResponseKind().(*kmsg.MetadataResponse)
	im := b.ctl.Image()
	for _, mb := range im.SortedBrokers() {
		if mb.Fenced {
			continue
		}
		br := kmsg.NewMetadataResponseBroker()
		br.NodeID, br.Host, br.Port = mb.ID, mb.Host, mb.Port
		if mb.Rack != "" {
			br.Rack = kmsg.StringPtr(mb.Rack)
		}
		resp.Brokers = append(resp.Brokers, br)
	}
	resp.ClusterID = &b.cfg.ClusterID
	resp.ControllerID = b.controllerID()
	resp.AuthorizedOperations = authorizedOperationsUnknown
	if allTopics {
		for _, t := range im.SortedTopics() {
			resp.Topics = append(resp.Topics, b.metadataTopic(im, t))
		}
		return resp
	}
	for _, rt := range req.Topics {
		resp.Topics = append(resp.Topics, b.metadataRequested(im, rt, autoCreate))
	}
	return resp
}

func (b *Broker) metadataRequested(im *meta.Image, rt kmsg.MetadataRequestTopic, autoCreate bool) kmsg.MetadataResponseTopic {
	if rt.Topic == nil {
		if t := im.TopicIDs[rt.TopicID]; t != nil {
			return b.metadataTopic(im, t)
		}
		st := kmsg.NewMetadataResponseTopic()
		st.TopicID = rt.TopicID
		st.ErrorCode = kerr.UnknownTopicID.Code
		return st
	}
	if t := im.Topics[*rt.Topic]; t != nil {
		return b.metadataTopic(im, t)
	}
	st := kmsg.NewMetadataResponseTopic()
	st.Topic = rt.Topic
	st.ErrorCode = kerr.UnknownTopicOrPartition.Code
	switch {
	case validTopicName(*rt.Topic) != nil:
		st.ErrorCode = kerr.InvalidTopicException.Code
	case autoCreate:
		// Being created, or refused (a limit, a collision): either way
		// the client asks again.
		st.ErrorCode = kerr.LeaderNotAvailable.Code
	}
	return st
}

func (b *Broker) metadataTopic(im *meta.Image, t *meta.Topic) kmsg.MetadataResponseTopic {
	st := kmsg.NewMetadataResponseTopic()
	name := t.Name
	st.Topic, st.TopicID = &name, t.ID
	st.IsInternal = false
	st.AuthorizedOperations = authorizedOperationsUnknown
	for _, mp := range t.Partitions {
		sp := kmsg.NewMetadataResponseTopicPartition()
		sp.Partition = mp.Index
		sp.Leader, sp.LeaderEpoch = mp.Leader, mp.LeaderEpoch
		if mp.Leader == meta.NoLeader {
			sp.ErrorCode = kerr.LeaderNotAvailable.Code
		}
		sp.Replicas, sp.ISR = slices.Clone(mp.Replicas), slices.Clone(mp.ISR)
		sp.OfflineReplicas = []int32{}
		for _, id := range mp.Replicas {
			if !im.Active(id) {
				sp.OfflineReplicas = append(sp.OfflineReplicas, id)
			}
		}
		st.Partitions = append(st.Partitions, sp)
	}
	return st
}
