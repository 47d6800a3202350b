package controller

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gregor-dst/gregor/broker/configs"
	"github.com/gregor-dst/gregor/broker/meta"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// CreateTopics, DeleteTopics and CreatePartitions, with the single-node
// broker's checks and messages (broker/19_create_topics.go, …) where it
// has them and KRaft's (meta's decisions) for placement, counts and
// manual assignments. Each topic is decided on the working image, so a
// topic named twice or one created by an earlier entry of the request
// is seen.

// createTopics: partitions -1 is num.partitions and replication factor -1
// default.replication.factor; a manual assignment needs both -1 (KRaft's
// INVALID_REQUEST otherwise). ValidateOnly decides without writing. v5+
// answers the new topic's configs; v7+ its id.
func (c *Controller) createTopics(req kmsg.Request, respond func(kmsg.Response)) *op {
	r := req.(*kmsg.CreateTopicsRequest)
	seen := map[string]int{}
	for _, rt := range r.Topics {
		seen[rt.Topic]++
	}
	run := func(w *work) func(int64) {
		resp := r.ResponseKind().(*kmsg.CreateTopicsResponse)
		for _, rt := range r.Topics {
			resp.Topics = append(resp.Topics, c.createTopic(w, rt, seen[rt.Topic] > 1, r.ValidateOnly))
		}
		return func(int64) { respond(resp) }
	}
	return &op{run: run, reject: rejectWith(req, respond)}
}

func (c *Controller) createTopic(w *work, rt kmsg.CreateTopicsRequestTopic, duplicate, validateOnly bool) kmsg.CreateTopicsResponseTopic {
	st := kmsg.NewCreateTopicsResponseTopic()
	st.Topic = rt.Topic
	recs, overrides, e, msg := c.decideTopic(w, rt, duplicate)
	if e != nil {
		st.ErrorCode, st.ErrorMessage = e.Code, &msg
		st.NumPartitions, st.ReplicationFactor = -1, -1
		return st
	}
	st.NumPartitions = int32(len(recs) - 1)
	st.ReplicationFactor = int16(len(recs[1].Partition.Replicas))
	for _, e := range configs.CreatedTopicConfigs(c.layers(w.im, overrides)) {
		cfg := kmsg.NewCreateTopicsResponseTopicConfig()
		cfg.Name, cfg.Value, cfg.ReadOnly, cfg.Source, cfg.IsSensitive = e.Name, e.Value, e.ReadOnly, int8(e.Source), e.Sensitive
		st.Configs = append(st.Configs, cfg)
	}
	if validateOnly {
		return st
	}
	st.TopicID = recs[0].Topic.ID
	w.emit(recs...)
	for key, value := range overrides.All() {
		v := value
		w.emit(meta.Record{Config: &meta.ConfigRecord{ResourceType: meta.ResourceTopic, Resource: rt.Topic, Name: key, Value: &v}})
	}
	return st
}

// decideTopic validates one CreateTopics entry and returns the topic's
// records (topic first, then its partitions) and config overrides.
func (c *Controller) decideTopic(w *work, rt kmsg.CreateTopicsRequestTopic, duplicate bool) ([]meta.Record, configs.Set, *kerr.Error, string) {
	var none configs.Set
	bs := c.settings(w.im)
	partitions, rf := rt.NumPartitions, rt.ReplicationFactor
	assigned := len(rt.ReplicaAssignment) > 0
	if !assigned && partitions == -1 {
		partitions = bs.NumPartitions
	}
	if !assigned && rf == -1 {
		rf = bs.DefaultReplicationFactor
	}
	if assigned {
		partitions, rf = int32(len(rt.ReplicaAssignment)), int16(len(rt.ReplicaAssignment[0].Replicas))
	}
	switch {
	case duplicate:
		return nil, none, kerr.InvalidRequest, fmt.Sprintf("Create topics request from client contains multiple entries for the topic %s", rt.Topic)
	case validTopicName(rt.Topic) != nil:
		return nil, none, kerr.InvalidTopicException, validTopicName(rt.Topic).Error()
	case w.im.Topics[rt.Topic] != nil:
		return nil, none, kerr.TopicAlreadyExists, fmt.Sprintf("Topic '%s' already exists.", rt.Topic)
	case collides(w.im, rt.Topic) != "":
		return nil, none, kerr.InvalidTopicException, fmt.Sprintf("Topic '%s' collides with existing topic: %s", rt.Topic, collides(w.im, rt.Topic))
	case assigned && rt.ReplicationFactor != -1:
		return nil, none, kerr.InvalidRequest, "A manual partition assignment was specified, but replication factor was not set to -1."
	case assigned && rt.NumPartitions != -1:
		return nil, none, kerr.InvalidRequest, "A manual partition assignment was specified, but numPartitions was not set to -1."
	case partitions <= 0:
		return nil, none, kerr.InvalidPartitions, "Number of partitions must be larger than 0."
	case rf <= 0:
		return nil, none, kerr.InvalidReplicationFactor, "Replication factor must be larger than 0."
	}
	if e, msg := c.checkLimits(w.im, 1, int(partitions)); e != nil {
		return nil, none, e, msg
	}
	var cfgs []configs.Assignment
	for _, cf := range rt.Configs {
		cfgs = append(cfgs, configs.Assignment{Key: cf.Name, Value: cf.Value})
	}
	overrides, err := configs.CreateTopic(cfgs, c.layers(w.im, configs.Set{}))
	if err != nil {
		e, msg := configError(err)
		return nil, none, e, msg
	}
	recs, e, msg := c.placeTopic(w, rt, partitions, rf)
	return recs, overrides, e, msg
}

// placeTopic places the new topic's partitions: by hand, or striped from
// a random broker (Kafka's StripedReplicaPlacer starts at a random one).
func (c *Controller) placeTopic(w *work, rt kmsg.CreateTopicsRequestTopic, partitions int32, rf int16) ([]meta.Record, *kerr.Error, string) {
	id := c.newTopicID(w.im)
	if len(rt.ReplicaAssignment) == 0 {
		return meta.CreateTopic(w.im, rt.Topic, id, partitions, rf, c.e.Rand().IntN(1<<16))
	}
	assignment := make([][]int32, len(rt.ReplicaAssignment))
	for i, a := range rt.ReplicaAssignment {
		if a.Partition != int32(i) {
			return nil, kerr.InvalidReplicaAssignment, "partitions in a manual assignment must be consecutive from 0"
		}
		assignment[i] = a.Replicas
	}
	return meta.CreateTopicAssigned(w.im, rt.Topic, id, assignment)
}

// newTopicID draws a random topic id not in use (and not the zero id,
// which means "none" on the wire).
func (c *Controller) newTopicID(im *meta.Image) [16]byte {
	for {
		var id [16]byte
		for i := range id {
			id[i] = byte(c.e.Rand().UintN(256))
		}
		if id != ([16]byte{}) && im.TopicIDs[id] == nil {
			return id
		}
	}
}

// checkLimits refuses topics or partitions past the cluster's bounds.
func (c *Controller) checkLimits(im *meta.Image, topics, partitions int) (*kerr.Error, string) {
	have := 0
	for _, t := range im.SortedTopics() {
		have += len(t.Partitions)
	}
	if len(im.Topics)+topics > c.cfg.TopicsMax || have+partitions > c.cfg.PartitionsMax {
		return kerr.PolicyViolation, fmt.Sprintf("the cluster's limit of %d topics / %d partitions would be exceeded", c.cfg.TopicsMax, c.cfg.PartitionsMax)
	}
	return nil, ""
}

// validTopicName is Kafka's Topic.validate, with the broker's messages.
func validTopicName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("topic name is empty")
	case name == "." || name == "..":
		return fmt.Errorf("topic name cannot be %q", name)
	case len(name) > 249:
		return fmt.Errorf("topic name is longer than 249 characters")
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("topic name %q contains %q; only ASCII alphanumerics, '.', '_' and '-' are allowed", name, r)
		}
	}
	return nil
}

// collides names a topic whose name differs from name only in '.' vs '_'
// (Kafka forbids both: they map to the same metric names).
func collides(im *meta.Image, name string) string {
	norm := strings.ReplaceAll(name, ".", "_")
	for _, t := range im.SortedTopics() {
		if t.Name != name && strings.ReplaceAll(t.Name, ".", "_") == norm {
			return t.Name
		}
	}
	return ""
}

// configError turns a configs error into Kafka's code and message.
func configError(err error) (*kerr.Error, string) {
	var ce *configs.Error
	if errors.As(err, &ce) {
		return ce.Code, ce.Message
	}
	return kerr.InvalidConfig, err.Error()
}

// ---- DeleteTopics ----

// deleteTargets are the topics a DeleteTopics names: by name before v6,
// by name or id from v6 (KIP-516).
func deleteTargets(r *kmsg.DeleteTopicsRequest) []kmsg.DeleteTopicsRequestTopic {
	if r.Version >= 6 {
		return r.Topics
	}
	out := make([]kmsg.DeleteTopicsRequestTopic, 0, len(r.TopicNames))
	for _, name := range r.TopicNames {
		n := name
		out = append(out, kmsg.DeleteTopicsRequestTopic{Topic: &n})
	}
	return out
}

// deleteTopics removes each named topic; an unknown name is
// UNKNOWN_TOPIC_OR_PARTITION, an unknown id UNKNOWN_TOPIC_ID, and a topic
// named twice is unknown the second time. With delete.topic.enable off
// every topic gets TOPIC_DELETION_DISABLED (INVALID_REQUEST before v3,
// as Kafka answers).
func (c *Controller) deleteTopics(req kmsg.Request, respond func(kmsg.Response)) *op {
	r := req.(*kmsg.DeleteTopicsRequest)
	run := func(w *work) func(int64) {
		if !c.settings(w.im).DeleteTopicEnable {
			e := kerr.TopicDeletionDisabled
			if r.Version < 3 {
				e = kerr.InvalidRequest
			}
			resp := errorResponse(r, rejection{e, "Topic deletion is disabled."})
			return func(int64) { respond(resp) }
		}
		resp := r.ResponseKind().(*kmsg.DeleteTopicsResponse)
		for _, rt := range deleteTargets(r) {
			st := kmsg.NewDeleteTopicsResponseTopic()
			st.Topic, st.TopicID = rt.Topic, rt.TopicID
			t, e := lookupTopic(w.im, rt.Topic, rt.TopicID)
			if e != nil {
				st.ErrorCode = e.Code
			} else {
				name := t.Name
				st.Topic, st.TopicID = &name, t.ID
				w.emit(meta.DeleteTopic(w.im, t.ID)...)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return func(int64) { respond(resp) }
	}
	return &op{run: run, reject: rejectWith(req, respond)}
}

// lookupTopic finds a topic by name, or by id when no name is given.
func lookupTopic(im *meta.Image, name *string, id [16]byte) (*meta.Topic, *kerr.Error) {
	if name != nil && *name != "" {
		if t := im.Topics[*name]; t != nil {
			return t, nil
		}
		return nil, kerr.UnknownTopicOrPartition
	}
	if t := im.TopicIDs[id]; t != nil {
		return t, nil
	}
	return nil, kerr.UnknownTopicID
}

// ---- CreatePartitions ----

// createPartitions raises topics' partition counts: a topic named twice
// is INVALID_REQUEST and an unknown one UNKNOWN_TOPIC_OR_PARTITION (the
// broker's messages), the counts and assignments are KRaft's (meta).
// ValidateOnly decides without writing.
func (c *Controller) createPartitions(req kmsg.Request, respond func(kmsg.Response)) *op {
	r := req.(*kmsg.CreatePartitionsRequest)
	seen := map[string]int{}
	for _, rt := range r.Topics {
		seen[rt.Topic]++
	}
	run := func(w *work) func(int64) {
		resp := r.ResponseKind().(*kmsg.CreatePartitionsResponse)
		for _, rt := range r.Topics {
			st := kmsg.NewCreatePartitionsResponseTopic()
			st.Topic = rt.Topic
			recs, e, msg := c.decidePartitions(w, rt, seen[rt.Topic] > 1)
			if e != nil {
				st.ErrorCode, st.ErrorMessage = e.Code, &msg
			} else if !r.ValidateOnly {
				w.emit(recs...)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return func(int64) { respond(resp) }
	}
	return &op{run: run, reject: rejectWith(req, respond)}
}

func (c *Controller) decidePartitions(w *work, rt kmsg.CreatePartitionsRequestTopic, duplicate bool) ([]meta.Record, *kerr.Error, string) {
	t := w.im.Topics[rt.Topic]
	switch {
	case duplicate:
		return nil, kerr.InvalidRequest, "Duplicate topic in request."
	case t == nil:
		return nil, kerr.UnknownTopicOrPartition, fmt.Sprintf("The topic '%s' does not exist.", rt.Topic)
	}
	if e, msg := c.checkLimits(w.im, 0, int(rt.Count)-len(t.Partitions)); e != nil && int(rt.Count) > len(t.Partitions) {
		return nil, e, msg
	}
	if rt.Assignment == nil {
		return meta.AddPartitions(w.im, t, rt.Count, c.e.Rand().IntN(1<<16))
	}
	assignment := make([][]int32, len(rt.Assignment))
	for i, a := range rt.Assignment {
		assignment[i] = a.Replicas
	}
	return meta.AddPartitionsAssigned(w.im, t, rt.Count, assignment)
}
