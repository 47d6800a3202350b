package kclient

import (
	"fmt"
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// CreateTopic creates a topic with partitions partitions, the broker's
// default replication factor and the given configs (Kafka names, such as
// "flush.messages"). It goes to the controller when the metadata names
// one. A retry after a lost answer may meet the topic our first attempt
// created: TOPIC_ALREADY_EXISTS is reported as is, for the caller to judge.
func (cl *Client) CreateTopic(name string, partitions int32, configs map[string]string, done func(error)) {
	cl.retrying(func(step func(error)) {
		to := AnyBroker
		if cl.meta.controller >= 0 {
			if _, ok := cl.meta.brokerAddr(cl.meta.controller); ok {
				to = Node(cl.meta.controller)
			}
		}
		cl.Request(to, cl.createTopicRequest(name, partitions, configs), func(resp kmsg.Response, err error) {
			if err != nil {
				cl.rotateAny()
				step(err)
				return
			}
			step(createTopicAnswer(resp.(*kmsg.CreateTopicsResponse), name))
		})
	}, func(err error) {
		cl.meta.markStale() // the next lookup should see the new topic
		done(err)
	})
}

func (cl *Client) createTopicRequest(name string, partitions int32, configs map[string]string) *kmsg.CreateTopicsRequest {
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = int32(min(cl.cfg.RequestTimeoutMs, 1<<31-1))
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic = name
	rt.NumPartitions = partitions
	rt.ReplicationFactor = -1
	for _, k := range slices.Sorted(maps.Keys(configs)) {
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = k, kmsg.StringPtr(configs[k])
		rt.Configs = append(rt.Configs, c)
	}
	req.Topics = append(req.Topics, rt)
	return req
}

func createTopicAnswer(resp *kmsg.CreateTopicsResponse, name string) error {
	for _, t := range resp.Topics {
		if t.Topic != name {
			continue
		}
		err := errorForCode(t.ErrorCode)
		if err != nil && t.ErrorMessage != nil {
			err = fmt.Errorf("%w: %s", err, *t.ErrorMessage)
		}
		return err
	}
	return fmt.Errorf("%w: CreateTopics answer lacks %s", ErrBadResponse, name)
}

// ListOffsets asks a partition's leader for the offset at timestamp
// (Kafka's special values: -1 latest, i.e. the high watermark; -2
// earliest), retrying leader errors until RetryTimeoutMs.
func (cl *Client) ListOffsets(topic string, partition int32, timestamp int64, done func(offset int64, err error)) {
	offset := int64(-1)
	cl.retrying(func(step func(error)) {
		cl.meta.leaderFor(topic, partition, func(addr string, err error) {
			if err != nil {
				step(err)
				return
			}
			cl.Request(Addr(addr), listOffsetsRequest(topic, partition, timestamp), func(resp kmsg.Response, err error) {
				if err == nil {
					offset, err = listOffsetsAnswer(resp.(*kmsg.ListOffsetsResponse), topic, partition)
				}
				step(err)
			})
		})
	}, func(err error) {
		if err != nil {
			offset = -1
		}
		done(offset, err)
	})
}

// Special ListOffsets timestamps.
const (
	LatestOffset   int64 = -1
	EarliestOffset int64 = -2
)

func listOffsetsRequest(topic string, partition int32, timestamp int64) *kmsg.ListOffsetsRequest {
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition = partition
	rp.CurrentLeaderEpoch = -1
	rp.Timestamp = timestamp
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

func listOffsetsAnswer(resp *kmsg.ListOffsetsResponse, topic string, partition int32) (int64, error) {
	for _, t := range resp.Topics {
		if t.Topic != topic {
			continue
		}
		for _, p := range t.Partitions {
			if p.Partition == partition {
				return p.Offset, errorForCode(p.ErrorCode)
			}
		}
	}
	return -1, fmt.Errorf("%w: ListOffsets answer lacks %s/%d", ErrBadResponse, topic, partition)
}
