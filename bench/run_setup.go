package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// createTopics creates the workload's topics and waits for their leaders.
func (r *run) createTopics(ctx context.Context) error {
	adm := kadm.NewClient(r.admin)
	ctx, cancel := context.WithTimeout(ctx, r.opts.ReadyTimeout)
	defer cancel()
	meta, err := adm.BrokerMetadata(ctx)
	if err != nil {
		return fmt.Errorf("bench: metadata from %v: %w", r.ep.Bootstrap, err)
	}
	brokers := len(meta.Brokers)
	if r.result.Setup.Target.Brokers == 0 {
		r.result.Setup.Target.Brokers = brokers
	}
	r.describeBrokerConfigs(ctx, adm, meta)
	rf := r.w.Driver.ReplicationFactor
	if rf == 0 {
		rf = max(1, min(3, brokers))
	}
	r.result.Setup.ReplicationFactor = rf
	configs := map[string]*string{}
	for k, v := range r.w.Driver.TopicConfigs { //gregor:unordered-ok building a map
		configs[k] = kadm.StringPtr(v)
	}
	for i := range r.w.Topics {
		r.topics = append(r.topics, fmt.Sprintf("bench-%s-%04d", r.runID, i))
	}
	resps, err := adm.CreateTopics(ctx, int32(r.w.PartitionsPerTopic), int16(rf), configs, r.topics...)
	if err != nil {
		return fmt.Errorf("bench: create topics: %w", err)
	}
	for _, t := range r.topics {
		if resp := resps[t]; resp.Err != nil {
			return fmt.Errorf("bench: create topic %s (%d partitions, RF %d): %w %s", t, r.w.PartitionsPerTopic, rf, resp.Err, resp.ErrMessage)
		}
	}
	return r.awaitLeaders(ctx, adm)
}

func (r *run) awaitLeaders(ctx context.Context, adm *kadm.Client) error {
	for {
		details, err := adm.ListTopics(ctx, r.topics...)
		if err == nil && leadersReady(details, r.topics, r.w.PartitionsPerTopic) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("bench: topics without leaders after %v: %w", r.opts.ReadyTimeout, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func leadersReady(details kadm.TopicDetails, topics []string, partitions int) bool {
	for _, t := range topics {
		d, ok := details[t]
		if !ok || d.Err != nil || len(d.Partitions) != partitions {
			return false
		}
		for _, p := range d.Partitions { //gregor:unordered-ok all must pass
			if p.Err != nil || p.Leader < 0 {
				return false
			}
		}
	}
	return true
}

// durabilityConfigs are the broker settings a report needs to judge acks.
var durabilityConfigs = []string{
	"log.flush.interval.messages", "log.flush.interval.ms", "min.insync.replicas",
	"default.replication.factor", "unclean.leader.election.enable", "message.max.bytes",
}

// describeBrokerConfigs records what one broker reports; best effort.
func (r *run) describeBrokerConfigs(ctx context.Context, adm *kadm.Client, meta kadm.Metadata) {
	if len(meta.Brokers) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	configs, err := adm.DescribeBrokerConfigs(ctx, meta.Brokers[0].NodeID)
	if err != nil && len(configs) == 0 {
		r.note("broker configs not described: %v", err)
		return
	}
	for _, rc := range configs {
		for _, c := range rc.Configs {
			for _, key := range durabilityConfigs {
				if c.Key == key && c.Value != nil {
					r.result.Setup.BrokerConfigs[key] = *c.Value
				}
			}
		}
	}
}

// startConsumers starts consumerPerSubscription consumers for every
// subscription of every topic, each with its own client, as OMB.
func (r *run) startConsumers(ctx context.Context) error {
	consumeCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r.stopConsume = cancel
	for ti, topic := range r.topics {
		for s := range r.w.SubscriptionsPerTopic {
			group := fmt.Sprintf("bench-%s-sub-%03d-%04d", r.runID, s, ti)
			if r.mode == ConsumerGroup {
				r.groups = append(r.groups, group)
			}
			for j := range r.w.ConsumerPerSubscription {
				opts := []kgo.Opt{
					kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
					kgo.FetchMaxPartitionBytes(consumerPartitionFetchBytes),
				}
				if r.mode == ConsumerGroup {
					opts = append(opts, kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic))
				} else {
					opts = append(opts, kgo.ConsumePartitions(r.assignment(topic, j)))
				}
				cl, err := kgo.NewClient(r.clientOptions(opts...)...)
				if err != nil {
					return fmt.Errorf("bench: consumer client: %w", err)
				}
				c := &consumer{client: cl, topic: topic, endToEnd: newRecorder(endToEndLatencyMaxMicros)}
				r.consumers = append(r.consumers, c)
				r.consumeDone.Add(1)
				go func() {
					defer r.consumeDone.Done()
					c.consume(consumeCtx, r)
				}()
			}
		}
	}
	return nil
}

// assignment gives consumer j of a subscription the partitions p with
// p mod consumerPerSubscription == j, from the start.
func (r *run) assignment(topic string, j int) map[string]map[int32]kgo.Offset {
	parts := map[int32]kgo.Offset{}
	for p := j; p < r.w.PartitionsPerTopic; p += r.w.ConsumerPerSubscription {
		parts[int32(p)] = kgo.NewOffset().AtStart()
	}
	return map[string]map[int32]kgo.Offset{topic: parts}
}

func (r *run) createProducers(pool [][]byte, keys [][]byte) error {
	for range r.w.ProducersPerTopic {
		for _, topic := range r.topics {
			cl, err := kgo.NewClient(r.clientOptions(producerOptions(r.w.Driver)...)...)
			if err != nil {
				return fmt.Errorf("bench: producer client: %w", err)
			}
			p := &producer{
				client: cl, topic: topic, payloads: pool,
				keys:    keyGen{kind: r.w.KeyDistributor, pool: keys},
				latency: newRecorder(publishLatencyMaxMicros), delay: newRecorder(publishLatencyMaxMicros),
			}
			size := r.w.MessageSize
			p.buffers.New = func() any { b := make([]byte, 0, size); return &b }
			r.producers = append(r.producers, p)
		}
	}
	return nil
}

// awaitReady sends one probe per topic and waits until every subscription
// has it, as OMB does: a consumer is only known to be ready once it
// received something.
func (r *run) awaitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, r.opts.ReadyTimeout)
	defer cancel()
	probed := map[string]bool{}
	for _, p := range r.producers {
		if !probed[p.topic] {
			probed[p.topic] = true
			if err := p.probe(ctx); err != nil {
				return fmt.Errorf("bench: %w", err)
			}
		}
	}
	want := int64(len(r.topics)) * r.subs
	for {
		c := r.counts()
		if c.received >= want {
			r.logf("all consumers are ready")
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("bench: consumers not ready after %v (received %d of %d probes): %w",
				r.opts.ReadyTimeout, c.received, want, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}
