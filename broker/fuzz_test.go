package broker

import (
	"github.com/gregor-dst/gregor/broker/wire"
	"testing"
	"time"

	"github.com/gregor-dst/gregor/broker/records"
	"github.com/gregor-dst/gregor/sim"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// FuzzServe sends arbitrary frames to a running broker in the simulator.
// Whatever the bytes, the broker must not panic: a frame it cannot parse
// closes that connection, and a parsed request with strange fields gets
// an answer. Seeds are valid requests for every API at its lowest and
// highest version, so mutations explore the handlers, not only the
// decoder. (Run with -fuzz; as a test it replays the seeds.)
func FuzzServe(f *testing.F) {
	for _, frame := range serveSeeds(f) {
		f.Add(frame)
	}
	var r *rig
	f.Fuzz(func(t *testing.T, frame []byte) {
		if r == nil {
			// Small tables: a fuzzed CreateTopics may ask for thousands
			// of partitions, and the rig lives across inputs.
			r = newRigWith(t, func(c *Config) { c.TopicsMax, c.PartitionsMax = 8, 64 })
			r.createTopic("t", 2, nil)
		}
		r.t = t
		if r.client.closed {
			r.dial()
		}
		before := len(r.client.responses)
		r.sendFrame(frame)
		deadline := r.s.Now() + sim.Time(2*time.Second)
		if err := r.s.RunWhile(func() bool {
			return len(r.client.responses) == before && !r.client.closed && r.s.Now() < deadline
		}); err != nil {
			t.Fatalf("broker failed on frame %x: %v", frame, err)
		}
	})
}

// serveSeeds encodes one request per served API and version bound.
func serveSeeds(tb testing.TB) [][]byte {
	batch, err := records.Build(records.BuildOptions{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, BaseTimestamp: sim.DefaultEpoch.UnixMilli()},
		[]records.Record{{Value: []byte("v")}})
	if err != nil {
		tb.Fatal(err)
	}
	topic := "t"
	build := map[int16]func() kmsg.Request{
		0: func() kmsg.Request {
			r := kmsg.NewPtrProduceRequest()
			r.Acks = -1
			r.Topics = []kmsg.ProduceRequestTopic{{Topic: topic, Partitions: []kmsg.ProduceRequestTopicPartition{{Partition: 0, Records: batch}}}}
			return r
		},
		1: func() kmsg.Request {
			r := kmsg.NewPtrFetchRequest()
			r.MaxBytes, r.MaxWaitMillis, r.MinBytes = 1<<20, 100, 1
			p := kmsg.NewFetchRequestTopicPartition()
			p.PartitionMaxBytes = 1 << 20
			r.Topics = []kmsg.FetchRequestTopic{{Topic: topic, Partitions: []kmsg.FetchRequestTopicPartition{p}}}
			return r
		},
		2: func() kmsg.Request {
			r := kmsg.NewPtrListOffsetsRequest()
			p := kmsg.NewListOffsetsRequestTopicPartition()
			p.Timestamp = -1
			r.Topics = []kmsg.ListOffsetsRequestTopic{{Topic: topic, Partitions: []kmsg.ListOffsetsRequestTopicPartition{p}}}
			return r
		},
		3: func() kmsg.Request {
			r := kmsg.NewPtrMetadataRequest()
			r.Topics = []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr(topic)}}
			return r
		},
		18: func() kmsg.Request { return kmsg.NewPtrApiVersionsRequest() },
		19: func() kmsg.Request {
			r := kmsg.NewPtrCreateTopicsRequest()
			r.Topics = []kmsg.CreateTopicsRequestTopic{{Topic: "u", NumPartitions: 1, ReplicationFactor: 1}}
			return r
		},
		20: func() kmsg.Request {
			r := kmsg.NewPtrDeleteTopicsRequest()
			r.TopicNames = []string{"u"}
			r.Topics = []kmsg.DeleteTopicsRequestTopic{{Topic: kmsg.StringPtr("u")}}
			return r
		},
		21: func() kmsg.Request {
			r := kmsg.NewPtrDeleteRecordsRequest()
			r.Topics = []kmsg.DeleteRecordsRequestTopic{{Topic: topic, Partitions: []kmsg.DeleteRecordsRequestTopicPartition{{Partition: 0, Offset: 1}}}}
			return r
		},
		22: func() kmsg.Request { return kmsg.NewPtrInitProducerIDRequest() },
		23: func() kmsg.Request {
			r := kmsg.NewPtrOffsetForLeaderEpochRequest()
			r.Topics = []kmsg.OffsetForLeaderEpochRequestTopic{{Topic: topic, Partitions: []kmsg.OffsetForLeaderEpochRequestTopicPartition{{Partition: 0, CurrentLeaderEpoch: -1, LeaderEpoch: 0}}}}
			return r
		},
		32: func() kmsg.Request {
			r := kmsg.NewPtrDescribeConfigsRequest()
			r.Resources = []kmsg.DescribeConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: topic}, {ResourceType: kmsg.ConfigResourceTypeBroker, ResourceName: "0"}}
			return r
		},
		33: func() kmsg.Request {
			r := kmsg.NewPtrAlterConfigsRequest()
			r.Resources = []kmsg.AlterConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: topic, Configs: []kmsg.AlterConfigsRequestResourceConfig{{Name: "retention.ms", Value: kmsg.StringPtr("1000")}}}}
			return r
		},
		37: func() kmsg.Request {
			r := kmsg.NewPtrCreatePartitionsRequest()
			r.Topics = []kmsg.CreatePartitionsRequestTopic{{Topic: topic, Count: 3}}
			return r
		},
		44: func() kmsg.Request {
			r := kmsg.NewPtrIncrementalAlterConfigsRequest()
			r.Resources = []kmsg.IncrementalAlterConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: topic, Configs: []kmsg.IncrementalAlterConfigsRequestResourceConfig{{Name: "cleanup.policy", Op: kmsg.IncrementalAlterConfigOpAppend, Value: kmsg.StringPtr("compact")}}}}
			return r
		},
		43: func() kmsg.Request {
			r := kmsg.NewPtrElectLeadersRequest()
			t := kmsg.NewElectLeadersRequestTopic()
			t.Topic, t.Partitions = "fuzz", []int32{0}
			r.Topics = append(r.Topics, t)
			return r
		},
		45: func() kmsg.Request {
			r := kmsg.NewPtrAlterPartitionAssignmentsRequest()
			t := kmsg.NewAlterPartitionAssignmentsRequestTopic()
			t.Topic = "fuzz"
			p := kmsg.NewAlterPartitionAssignmentsRequestTopicPartition()
			p.Replicas = []int32{0}
			t.Partitions = append(t.Partitions, p)
			r.Topics = append(r.Topics, t)
			return r
		},
		46: func() kmsg.Request { return kmsg.NewPtrListPartitionReassignmentsRequest() },
		60: func() kmsg.Request { return kmsg.NewPtrDescribeClusterRequest() },
	}
	var out [][]byte
	id := "fuzz"
	for _, key := range apiKeys() {
		mk, ok := build[key.ApiKey]
		if !ok {
			tb.Fatalf("no fuzz seed for api key %d: add one", key.ApiKey)
		}
		for _, v := range []int16{key.MinVersion, key.MaxVersion} {
			req := mk()
			req.SetVersion(v)
			out = append(out, wire.AppendRequest(nil, req, int32(len(out)), &id))
		}
	}
	return out
}
