package controller

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestCreateTopics: defaults for -1, configs answered and written,
// validateOnly writes nothing, every version answers.
func TestCreateTopics(t *testing.T) {
	c := newCluster(t, clusterOpts{seed: 4})
	c.waitActive()
	c.brokers(11, 12, 13)

	st := c.createTopic(topic("d", -1, -1, "retention.ms", "1000"))
	require.Equal(t, int32(2), st.NumPartitions, "num.partitions from Static")
	require.Equal(t, int16(3), st.ReplicationFactor, "default.replication.factor from Static")
	require.NotEqual(t, [16]byte{}, st.TopicID)
	var retention *string
	for _, cf := range st.Configs {
		if cf.Name == "retention.ms" {
			retention = cf.Value
		}
	}
	require.Equal(t, "1000", deref(retention))
	im := c.image()
	require.Equal(t, st.TopicID, im.Topics["d"].ID)
	require.Equal(t, map[string]string{"retention.ms": "1000"}, im.Topics["d"].Configs)
	for i := range int32(2) {
		p := c.partition("d", i)
		require.Len(t, p.Replicas, 3)
		require.Equal(t, p.Replicas, p.ISR)
		require.Equal(t, p.Replicas[0], p.Leader)
	}

	req := createTopics(topic("v", 1, 1))
	req.ValidateOnly = true
	resp := c.doActive(req).(*kmsg.CreateTopicsResponse)
	require.Equal(t, int16(0), resp.Topics[0].ErrorCode)
	require.Nil(t, c.image().Topics["v"], "validateOnly creates nothing")

	for v := int16(0); v <= req.MaxVersion(); v++ {
		req := createTopics(topic("v"+string(rune('a'+v)), 1, 2))
		req.SetVersion(v)
		resp := c.doActive(req).(*kmsg.CreateTopicsResponse)
		require.Equal(t, int16(0), resp.Topics[0].ErrorCode, "v%d: %s", v, deref(resp.Topics[0].ErrorMessage))
	}

	// A manual assignment: the ISR is the unfenced replicas.
	c.fakes[13].beating = false
	require.True(t, c.runUntil(15*time.Second, func() bool { return !c.image().Active(13) }))
	rt := topic("m", -1, -1)
	for i, rs := range [][]int32{{13, 12}, {11, 13}} {
		a := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
		a.Partition, a.Replicas = int32(i), rs
		rt.ReplicaAssignment = append(rt.ReplicaAssignment, a)
	}
	c.createTopic(rt)
	p := c.partition("m", 0)
	require.Equal(t, []int32{13, 12}, p.Replicas)
	require.Equal(t, []int32{12}, p.ISR)
	require.Equal(t, int32(12), p.Leader)
	c.converged()
}

// TestAdminErrors: the codes and messages of CreateTopics, DeleteTopics,
// CreatePartitions, AlterConfigs and IncrementalAlterConfigs, the same
// as the single-node broker's where it has them.
func TestAdminErrors(t *testing.T) {
	c := newCluster(t, clusterOpts{seed: 5})
	c.waitActive()
	c.brokers(11, 12, 13)
	c.createTopic(topic("t", 2, 2))
	c.createTopic(topic("a.b", 1, 1))

	type result struct {
		code int16
		msg  string
	}
	assigned := func(rf int16, partitions int32, replicas ...[]int32) kmsg.CreateTopicsRequestTopic {
		rt := topic("x", partitions, rf)
		for i, rs := range replicas {
			a := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
			a.Partition, a.Replicas = int32(i), rs
			rt.ReplicaAssignment = append(rt.ReplicaAssignment, a)
		}
		return rt
	}
	nullConfig := topic("x", 1, 1)
	nullConfig.Configs = []kmsg.CreateTopicsRequestTopicConfig{{Name: "retention.ms"}}
	for _, tc := range []struct {
		name string
		rt   kmsg.CreateTopicsRequestTopic
		want result
	}{
		{"exists", topic("t", 1, 1), result{kerr.TopicAlreadyExists.Code, "Topic 't' already exists."}},
		{"bad name", topic("a/b", 1, 1), result{kerr.InvalidTopicException.Code, `topic name "a/b" contains '/'; only ASCII alphanumerics, '.', '_' and '-' are allowed`}},
		{"empty name", topic("", 1, 1), result{kerr.InvalidTopicException.Code, "topic name is empty"}},
		{"collision", topic("a_b", 1, 1), result{kerr.InvalidTopicException.Code, "Topic 'a_b' collides with existing topic: a.b"}},
		{"zero partitions", topic("x", 0, 1), result{kerr.InvalidPartitions.Code, "Number of partitions must be larger than 0."}},
		{"zero rf", topic("x", 1, 0), result{kerr.InvalidReplicationFactor.Code, "Replication factor must be larger than 0."}},
		{"rf above brokers", topic("x", 1, 4), result{kerr.InvalidReplicationFactor.Code, "Unable to replicate the partition 4 time(s): The target replication factor of 4 cannot be reached because only 3 broker(s) are registered."}},
		{"unknown config", topic("x", 1, 1, "nope", "1"), result{kerr.InvalidConfig.Code, "Unknown topic config name: nope"}},
		{"null config", nullConfig, result{kerr.InvalidConfig.Code, "Null value not supported for topic configs: retention.ms"}},
		{"assignment with rf", assigned(2, -1, []int32{11, 12}), result{kerr.InvalidRequest.Code, "A manual partition assignment was specified, but replication factor was not set to -1."}},
		{"assignment with partitions", assigned(-1, 1, []int32{11, 12}), result{kerr.InvalidRequest.Code, "A manual partition assignment was specified, but numPartitions was not set to -1."}},
		{"assignment of an unknown broker", assigned(-1, -1, []int32{11, 19}), result{kerr.InvalidReplicaAssignment.Code, "The manual partition assignment includes broker 19, but no such broker is registered."}},
		{"assignment repeats", assigned(-1, -1, []int32{12, 12}), result{kerr.InvalidReplicaAssignment.Code, "The manual partition assignment includes the broker 12 more than once."}},
		{"assignment inconsistent", assigned(-1, -1, []int32{11, 12}, []int32{13}), result{kerr.InvalidReplicaAssignment.Code, "The manual partition assignment includes a partition with 1 replica(s), but this is not consistent with previous partitions, which have 2 replica(s)."}},
	} {
		t.Run("create "+tc.name, func(t *testing.T) {
			resp := c.doActive(createTopics(tc.rt)).(*kmsg.CreateTopicsResponse)
			st := resp.Topics[0]
			require.Equal(t, tc.want, result{st.ErrorCode, deref(st.ErrorMessage)})
			require.Equal(t, int32(-1), st.NumPartitions)
		})
	}
	t.Run("create duplicate", func(t *testing.T) {
		resp := c.doActive(createTopics(topic("y", 1, 1), topic("y", 1, 1))).(*kmsg.CreateTopicsResponse)
		for _, st := range resp.Topics {
			require.Equal(t, result{kerr.InvalidRequest.Code, "Create topics request from client contains multiple entries for the topic y"}, result{st.ErrorCode, deref(st.ErrorMessage)})
		}
	})

	grow := func(name string, count int32, assignment ...[]int32) kmsg.CreatePartitionsRequestTopic {
		rt := kmsg.NewCreatePartitionsRequestTopic()
		rt.Topic, rt.Count = name, count
		for _, rs := range assignment {
			rt.Assignment = append(rt.Assignment, kmsg.CreatePartitionsRequestTopicAssignment{Replicas: rs})
		}
		return rt
	}
	for _, tc := range []struct {
		name string
		rts  []kmsg.CreatePartitionsRequestTopic
		want result
	}{
		{"unknown", []kmsg.CreatePartitionsRequestTopic{grow("nope", 3)}, result{kerr.UnknownTopicOrPartition.Code, "The topic 'nope' does not exist."}},
		{"same count", []kmsg.CreatePartitionsRequestTopic{grow("t", 2)}, result{kerr.InvalidPartitions.Code, "Topic already has 2 partition(s)."}},
		{"fewer", []kmsg.CreatePartitionsRequestTopic{grow("t", 1)}, result{kerr.InvalidPartitions.Code, "The topic t currently has 2 partition(s); 1 would not be an increase."}},
		{"duplicate", []kmsg.CreatePartitionsRequestTopic{grow("t", 3), grow("t", 4)}, result{kerr.InvalidRequest.Code, "Duplicate topic in request."}},
		{"assignments short", []kmsg.CreatePartitionsRequestTopic{grow("t", 4, []int32{11, 12})}, result{kerr.InvalidReplicaAssignment.Code, "Attempted to add 2 additional partition(s), but only 1 assignment(s) were specified."}},
		{"assignment rf", []kmsg.CreatePartitionsRequestTopic{grow("t", 3, []int32{11})}, result{kerr.InvalidReplicaAssignment.Code, "The manual partition assignment includes a partition with 1 replica(s), but this is not consistent with previous partitions, which have 2 replica(s)."}},
	} {
		t.Run("partitions "+tc.name, func(t *testing.T) {
			req := kmsg.NewPtrCreatePartitionsRequest()
			req.SetVersion(req.MaxVersion())
			req.Topics = tc.rts
			resp := c.doActive(req).(*kmsg.CreatePartitionsResponse)
			st := resp.Topics[0]
			require.Equal(t, tc.want, result{st.ErrorCode, deref(st.ErrorMessage)})
		})
	}

	alter := func(rtype kmsg.ConfigResourceType, name string, kv ...string) *kmsg.AlterConfigsRequest {
		req := kmsg.NewPtrAlterConfigsRequest()
		req.SetVersion(req.MaxVersion())
		rr := kmsg.NewAlterConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = rtype, name
		for i := 0; i+1 < len(kv); i += 2 {
			rr.Configs = append(rr.Configs, kmsg.AlterConfigsRequestResourceConfig{Name: kv[i], Value: kmsg.StringPtr(kv[i+1])})
		}
		req.Resources = append(req.Resources, rr)
		return req
	}
	for _, tc := range []struct {
		name string
		req  *kmsg.AlterConfigsRequest
		want result
	}{
		{"unknown topic", alter(kmsg.ConfigResourceTypeTopic, "nope", "retention.ms", "1"), result{kerr.UnknownTopicOrPartition.Code, "Topic nope does not exist."}},
		{"bad value", alter(kmsg.ConfigResourceTypeTopic, "t", "retention.ms", "x"), result{kerr.InvalidConfig.Code, `Invalid value x for configuration retention.ms: Not a number of type LONG`}},
		{"read-only broker config", alter(kmsg.ConfigResourceTypeBroker, "", "node.id", "5"), result{kerr.InvalidRequest.Code, "Cannot update these configs dynamically: Set(node.id)"}},
		{"bad broker name", alter(kmsg.ConfigResourceTypeBroker, "x", "log.retention.ms", "5"), result{kerr.InvalidRequest.Code, "Illegal non-integral BROKER resource type name x"}},
		{"unsupported resource", alter(kmsg.ConfigResourceTypeBrokerLogger, "g"), result{kerr.InvalidRequest.Code, "Unsupported resource type: BROKER_LOGGER"}},
	} {
		t.Run("alter "+tc.name, func(t *testing.T) {
			resp := c.doActive(tc.req).(*kmsg.AlterConfigsResponse)
			sr := resp.Resources[0]
			require.Equal(t, tc.want, result{sr.ErrorCode, deref(sr.ErrorMessage)})
		})
	}

	// What succeeds is written: legacy AlterConfigs replaces the set,
	// IncrementalAlterConfigs edits it; brokers "" and "<id>".
	require.Equal(t, int16(0), c.doActive(alter(kmsg.ConfigResourceTypeTopic, "t", "retention.ms", "5", "cleanup.policy", "compact")).(*kmsg.AlterConfigsResponse).Resources[0].ErrorCode)
	require.Equal(t, map[string]string{"retention.ms": "5", "cleanup.policy": "compact"}, c.image().Topics["t"].Configs)
	inc := kmsg.NewPtrIncrementalAlterConfigsRequest()
	inc.SetVersion(inc.MaxVersion())
	for _, r := range []struct {
		rtype kmsg.ConfigResourceType
		name  string
		op    kmsg.IncrementalAlterConfigOp
		key   string
		value *string
	}{
		{kmsg.ConfigResourceTypeTopic, "t", kmsg.IncrementalAlterConfigOpDelete, "retention.ms", nil},
		{kmsg.ConfigResourceTypeBroker, "", kmsg.IncrementalAlterConfigOpSet, "log.retention.ms", kmsg.StringPtr("7")},
		{kmsg.ConfigResourceTypeBroker, "12", kmsg.IncrementalAlterConfigOpSet, "log.retention.ms", kmsg.StringPtr("8")},
	} {
		rr := kmsg.NewIncrementalAlterConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = r.rtype, r.name
		rr.Configs = []kmsg.IncrementalAlterConfigsRequestResourceConfig{{Name: r.key, Op: r.op, Value: r.value}}
		inc.Resources = append(inc.Resources, rr)
	}
	for _, sr := range c.doActive(inc).(*kmsg.IncrementalAlterConfigsResponse).Resources {
		require.Equal(t, int16(0), sr.ErrorCode, deref(sr.ErrorMessage))
	}
	im := c.image()
	require.Equal(t, map[string]string{"cleanup.policy": "compact"}, im.Topics["t"].Configs)
	require.Equal(t, map[string]string{"log.retention.ms": "7"}, im.ClusterConfigs)
	require.Equal(t, map[string]string{"log.retention.ms": "8"}, im.BrokerConfigs[12])

	// DeleteTopics: by name and by id; unknown ones; named twice.
	del := kmsg.NewPtrDeleteTopicsRequest()
	del.SetVersion(del.MaxVersion())
	tid := im.Topics["a.b"].ID
	del.Topics = []kmsg.DeleteTopicsRequestTopic{{Topic: kmsg.StringPtr("t")}, {TopicID: tid}, {Topic: kmsg.StringPtr("t")}, {Topic: kmsg.StringPtr("nope")}, {TopicID: [16]byte{1}}}
	var codes []int16
	for _, st := range c.doActive(del).(*kmsg.DeleteTopicsResponse).Topics {
		codes = append(codes, st.ErrorCode)
	}
	require.Equal(t, []int16{0, 0, kerr.UnknownTopicOrPartition.Code, kerr.UnknownTopicOrPartition.Code, kerr.UnknownTopicID.Code}, codes)
	require.Empty(t, c.image().Topics)
	old := kmsg.NewPtrDeleteTopicsRequest()
	old.SetVersion(1)
	old.TopicNames = []string{"t"}
	require.Equal(t, kerr.UnknownTopicOrPartition.Code, c.doActive(old).(*kmsg.DeleteTopicsResponse).Topics[0].ErrorCode)
	c.converged()
}

// TestDeleteTopicDisabled: delete.topic.enable=false refuses every
// deletion, as Kafka does.
func TestDeleteTopicDisabled(t *testing.T) {
	c := newCluster(t, clusterOpts{seed: 6, tweak: func(cfg *Config) {
		cfg.Static = cfg.Static.With("delete.topic.enable", "false")
	}})
	c.waitActive()
	c.brokers(11)
	c.createTopic(topic("t", 1, 1))
	del := kmsg.NewPtrDeleteTopicsRequest()
	del.SetVersion(del.MaxVersion())
	del.Topics = []kmsg.DeleteTopicsRequestTopic{{Topic: kmsg.StringPtr("t")}}
	require.Equal(t, kerr.TopicDeletionDisabled.Code, c.doActive(del).(*kmsg.DeleteTopicsResponse).Topics[0].ErrorCode)
	require.NotNil(t, c.image().Topics["t"])
}
