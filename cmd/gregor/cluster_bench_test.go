package main

// Replication benchmarks on the real binary, measured side by side in one
// run so the ratios compare like with like:
//
//	go test -run '^$' -bench 'BenchmarkReplication|BenchmarkFailover' -benchtime 500000x ./cmd/gregor/
//
// b.N is the number of 1 KiB records produced to each target. Data
// directories are under $TMPDIR: on a machine whose disk is slower than
// three brokers' writes, TMPDIR=/dev/shm measures the brokers instead of
// the shared disk (say which in a report).

import (
	"context"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// BenchmarkReplicationRatio: franz-go producing 1 KiB records over 6
// partitions to one broker at acks=1 (not idempotent: franz-go requires
// acks=all for that) and (idempotent) to a 3-broker cluster with RF 3
// and min.insync.replicas=2 at acks=all. The two targets take turns, in
// ratioRounds rounds of b.N/ratioRounds records each, so a noisy
// neighbour on a shared machine hits both alike; it reports each target's
// median round and their ratio (the target: ≥ 0.4).
func BenchmarkReplicationRatio(b *testing.B) {
	const ratioRounds = 5
	single := benchTarget(b, 1, kgo.LeaderAck(), 1)
	cluster := benchTarget(b, 3, kgo.AllISRAcks(), 3)
	perRound := max(b.N/ratioRounds, 1)
	var singleMBps, clusterMBps []float64
	b.ResetTimer()
	for range ratioRounds {
		singleMBps = append(singleMBps, produceRate(b, single, perRound))
		clusterMBps = append(clusterMBps, produceRate(b, cluster, perRound))
	}
	b.StopTimer()
	s, c := median(singleMBps), median(clusterMBps)
	b.ReportMetric(s, "MB/s-1broker-acks1")
	b.ReportMetric(c, "MB/s-3brokers-rf3-acksall")
	b.ReportMetric(c/s, "ratio")
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkFailover: the partition leader of a 3-broker cluster (RF 3,
// min.insync.replicas=2) is SIGKILLed; the time until the first acks=all
// produce to that partition is acknowledged is reported, and its ratio to
// broker.session.timeout.ms (target: ≤ 3). b.N records are produced
// before the kill.
func BenchmarkFailover(b *testing.B) {
	const sessionTimeoutMs = 9000 // Kafka's default
	tg := benchTarget(b, 3, kgo.AllISRAcks(), 3)
	produceRate(b, tg, b.N)
	ctx := context.Background()
	victim := benchLeader(b, tg, 0)
	b.ResetTimer()
	tg.cluster.kill(b, victim)
	began := time.Now()
	r := &kgo.Record{Topic: tg.topic, Partition: 0, Value: make([]byte, 1024)}
	if err := tg.client.ProduceSync(ctx, r).FirstErr(); err != nil {
		b.Fatalf("produce after failover: %v", err)
	}
	failover := time.Since(began)
	b.StopTimer()
	b.ReportMetric(float64(failover.Milliseconds()), "failover-ms")
	b.ReportMetric(float64(failover.Milliseconds())/sessionTimeoutMs, "ratio-to-session-timeout")
}

// benchTarget is a started target with a 6-partition topic and a producer.
type benchTargetT struct {
	client  *kgo.Client
	topic   string
	cluster *clusterProc
}

func benchTarget(b testing.TB, brokers int, acks kgo.Acks, rf int16, extra ...kgo.Opt) *benchTargetT {
	b.Helper()
	c := startCluster(b, brokers, "min.insync.replicas="+strconv.Itoa(min(2, brokers)))
	const topic, partitions = "bench", 6
	ctx := context.Background()
	opts := []kgo.Opt{kgo.SeedBrokers(strings.Split(c.bootstrap, ",")...)}
	admCl, err := kgo.NewClient(opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(admCl.Close)
	adm := kadm.NewClient(admCl)
	if resp, err := adm.CreateTopic(ctx, partitions, rf, nil, topic); err != nil || resp.Err != nil {
		b.Fatalf("create topic: %v %v", err, resp.Err)
	}
	waitISR(ctx, b, adm, topic, partitions, int(rf))
	// Uncompressed, so the bytes measured are the bytes moved.
	more := []kgo.Opt{kgo.RequiredAcks(acks), kgo.DefaultProduceTopic(topic), kgo.ProducerBatchCompression(kgo.NoCompression())}
	if acks != kgo.AllISRAcks() {
		more = append(more, kgo.DisableIdempotentWrite()) // kgo's idempotence needs acks=all
	}
	more = append(more, kgo.RecordRetries(1<<30), kgo.MaxBufferedRecords(100_000))
	cl, err := kgo.NewClient(append(append(opts, more...), extra...)...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(cl.Close)
	return &benchTargetT{client: cl, topic: topic, cluster: c}
}

// produceRate produces n 1 KiB records of random bytes and returns MB/s.
func produceRate(b testing.TB, tg *benchTargetT, n int) float64 {
	b.Helper()
	value := make([]byte, 1024)
	_, _ = rand.NewChaCha8([32]byte{1}).Read(value)
	ctx := context.Background()
	var wg sync.WaitGroup
	var failed error
	var mu sync.Mutex
	began := time.Now()
	for range n {
		wg.Add(1)
		tg.client.Produce(ctx, &kgo.Record{Value: value}, func(_ *kgo.Record, err error) {
			if err != nil {
				mu.Lock()
				failed = err
				mu.Unlock()
			}
			wg.Done()
		})
	}
	wg.Wait()
	if failed != nil {
		b.Fatalf("produce: %v", failed)
	}
	return float64(n) * 1024 / 1e6 / time.Since(began).Seconds()
}

func benchLeader(b *testing.B, tg *benchTargetT, partition int32) int32 {
	b.Helper()
	md, err := kadm.NewClient(tg.client).Metadata(context.Background(), tg.topic)
	if err != nil {
		b.Fatal(err)
	}
	return md.Topics[tg.topic].Partitions[partition].Leader
}
