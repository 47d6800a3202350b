package kclient

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gregor-dst/gregor/broker"
	"github.com/gregor-dst/gregor/env"
	"github.com/gregor-dst/gregor/sim"
)

// These tests run the client against the real broker (broker.New) in the
// simulator: a broker node "b1" and a client node "c1".

// scenario is one integration run: create a topic, produce records
// round-robin over its partitions in paced chunks (optionally crashing and
// restarting the broker meanwhile), wait for every outcome, then fetch
// every partition back from offset 0.
type scenario struct {
	seed         uint64
	records      int
	partitions   int32
	topicConfigs map[string]string
	chunk        int           // records per Produce callback
	every        time.Duration // between chunks
	crashAt      time.Duration // from the first chunk; 0: no crash
	downFor      time.Duration
	// cfg adjusts the client's config; faults schedules faults from the
	// first chunk on (both optional).
	cfg    func(*Config)
	faults func(w *world, start sim.Time)
}

type scenarioResult struct {
	hash    uint64
	events  uint64
	simTime time.Duration
	// sent[p][i] is the i-th value produced to partition p, and
	// results[p][i] its outcome.
	sent    [][]string
	results [][]ProduceResult
	logs    [][]Record // what a fetch from 0 read back, per partition
	counts  map[Outcome]int
	resets  int // InitProducerId requests past the first
}

// newBrokerWorld starts the real broker on "b1" and a client with cfg on
// "c1".
func newBrokerWorld(t *testing.T, seed uint64, cfg Config) *world {
	t.Helper()
	opts := sim.DefaultOptions(seed)
	if os.Getenv("KCLIENT_SIM_LOG") != "" {
		opts.Log = os.Stderr
	}
	s, err := sim.New(opts)
	require.NoError(t, err)
	bn, err := s.AddNode("b1", func() env.Process {
		b, err := broker.New(broker.DefaultConfig())
		require.NoError(t, err)
		return b
	}, sim.DiskOptions{SyncLatency: sim.Latency{Min: time.Millisecond, Mean: 2 * time.Millisecond}})
	require.NoError(t, err)
	cn, err := s.AddNode("c1", NewProcess(cfg, nil), sim.DiskOptions{})
	require.NoError(t, err)
	require.NoError(t, bn.Start())
	require.NoError(t, cn.Start())
	return &world{t: t, s: s, client: cn, broker: bn}
}

// createTopic creates topic "t" and waits for it.
func (w *world) createTopic(partitions int32, configs map[string]string) {
	w.t.Helper()
	created := false
	w.do(func(cl *Client) {
		cl.CreateTopic("t", partitions, configs, func(err error) {
			require.NoError(w.t, err)
			created = true
		})
	})
	w.runUntil(func() bool { return created }, 10*time.Second)
}

func runScenario(t *testing.T, sc scenario) scenarioResult {
	t.Helper()
	cfg := DefaultConfig("b1:9092")
	cfg.ClientID = "it"
	if sc.cfg != nil {
		sc.cfg(&cfg)
	}
	w := newBrokerWorld(t, sc.seed, cfg)
	s, bn := w.s, w.broker
	w.createTopic(sc.partitions, sc.topicConfigs)

	r := scenarioResult{counts: map[Outcome]int{}}
	r.sent = make([][]string, sc.partitions)
	r.results = make([][]ProduceResult, sc.partitions)
	finished := w.scheduleProduce(sc, &r)
	if sc.faults != nil {
		sc.faults(w, s.Now())
	}
	if sc.crashAt > 0 {
		start := s.Now()
		s.At(start+sim.Time(sc.crashAt), bn.Crash)
		s.At(start+sim.Time(sc.crashAt+sc.downFor), func() { require.NoError(t, bn.Start()) })
	}
	w.runUntil(func() bool { return *finished == sc.records }, 10*time.Minute)
	if sc.crashAt > 0 {
		require.Equal(t, uint64(2), bn.Starts(), "the broker crashed and restarted")
	}
	for _, rs := range r.results {
		for _, res := range rs {
			r.counts[res.Outcome]++
		}
	}
	r.logs = w.fetchAll(sc.partitions)
	w.do(func(cl *Client) { r.resets = cl.prod.pidsTaken - 1 })
	require.NoError(t, s.RunFor(time.Millisecond))
	r.hash, r.events, r.simTime = s.TraceHash(), s.Events(), s.Now().Duration()
	return r
}

// scheduleProduce schedules the chunks; the returned counter reaches
// sc.records once every outcome is in.
func (w *world) scheduleProduce(sc scenario, r *scenarioResult) *int {
	finished := 0
	start := w.s.Now()
	for first := 0; first < sc.records; first += sc.chunk {
		at := start + sim.Time(time.Duration(first/sc.chunk)*sc.every)
		w.s.At(at, func() {
			w.do(func(cl *Client) {
				for i := first; i < min(first+sc.chunk, sc.records); i++ {
					p := int32(i) % sc.partitions
					v := fmt.Sprintf("p%d-%05d", p, i)
					slot := len(r.sent[p])
					r.sent[p] = append(r.sent[p], v)
					r.results[p] = append(r.results[p], ProduceResult{})
					cl.Produce("t", p, []byte(fmt.Sprint(i)), []byte(v), func(res ProduceResult) {
						r.results[p][slot] = res
						finished++
					})
				}
			})
		})
	}
	return &finished
}

// fetchAll reads every partition from offset 0 to its high watermark.
func (w *world) fetchAll(partitions int32) [][]Record {
	logs := make([][]Record, partitions)
	left := int(partitions)
	w.do(func(cl *Client) {
		for p := range partitions {
			fetchPartition(cl, "t", p, func(recs []Record, err error) {
				require.NoError(w.t, err)
				logs[p] = recs
				left--
			})
		}
	})
	w.runUntil(func() bool { return left == 0 }, time.Minute)
	return logs
}

// fetchPartition fetches from 0 until the high watermark; a fetch that
// makes no progress below it three times running is an error (the loop
// must end).
func fetchPartition(cl *Client, topic string, p int32, done func([]Record, error)) {
	var out []Record
	stuck := 0
	var next func(offset int64)
	next = func(offset int64) {
		cl.Fetch(topic, p, offset, func(r FetchResult) {
			if r.Err != nil {
				done(out, r.Err)
				return
			}
			out = append(out, r.Records...)
			if len(r.Records) > 0 {
				offset, stuck = r.Records[len(r.Records)-1].Offset+1, 0
			} else {
				stuck++
			}
			switch {
			case offset >= r.HighWatermark:
				done(out, nil)
			case stuck >= 3:
				done(out, fmt.Errorf("fetch of %s/%d stuck at %d below %d", topic, p, offset, r.HighWatermark))
			default:
				next(offset)
			}
		})
	}
	next(0)
}

// checkLog checks one partition's log against what was produced:
//   - no value appears twice (the idempotent producer never duplicates);
//   - a Failed record never appears;
//   - values appear in produce order;
//   - with acksMustSurvive, every Acked record appears, at its acked
//     offset.
//
// It returns the acked records not found at their offset (lost).
func checkLog(t *testing.T, p int, sent []string, results []ProduceResult, log []Record, acksMustSurvive bool) int {
	t.Helper()
	index := make(map[string]int, len(sent))
	for i, v := range sent {
		index[v] = i
	}
	at := make(map[string]int64, len(log))
	last := -1
	for _, rec := range log {
		v := string(rec.Value)
		i, ok := index[v]
		require.True(t, ok, "partition %d: offset %d holds %q, never produced here", p, rec.Offset, v)
		_, dup := at[v]
		require.False(t, dup, "partition %d: %q appears twice (offsets %d and %d)", p, v, at[v], rec.Offset)
		require.NotEqual(t, Failed, results[i].Outcome, "partition %d: %q was reported Failed but is at offset %d", p, v, rec.Offset)
		require.Greater(t, i, last, "partition %d: %q (produced #%d) after #%d", p, v, i, last)
		at[v], last = rec.Offset, i
	}
	lost := 0
	for i, res := range results {
		if res.Outcome != Acked {
			continue
		}
		if off, ok := at[sent[i]]; !ok || off != res.Offset {
			lost++
			if acksMustSurvive {
				t.Errorf("partition %d: acked %q at offset %d, log has it at %d (present %v)", p, sent[i], res.Offset, off, ok)
			}
		}
	}
	return lost
}

func checkScenario(t *testing.T, r scenarioResult, acksMustSurvive bool) (lost int) {
	t.Helper()
	for p := range r.sent {
		lost += checkLog(t, p, r.sent[p], r.results[p], r.logs[p], acksMustSurvive)
	}
	return lost
}

func integrationScenario(seed uint64) scenario {
	return scenario{
		seed: seed, records: 10_000, partitions: 4,
		chunk: 100, every: 10 * time.Millisecond,
	}
}

// TestIntegrationProduceFetch: 10k idempotent records over 4 partitions
// are all acknowledged and read back complete and in order.
func TestIntegrationProduceFetch(t *testing.T) {
	r := runScenario(t, integrationScenario(1))
	require.Equal(t, map[Outcome]int{Acked: 10_000}, r.counts)
	checkScenario(t, r, true)
	for p := range r.sent {
		require.Len(t, r.logs[p], len(r.sent[p]))
		for i, rec := range r.logs[p] {
			require.Equal(t, int64(i), rec.Offset)
			require.Equal(t, r.sent[p][i], string(rec.Value))
			require.Equal(t, r.results[p][i].Offset, rec.Offset)
		}
	}
	t.Logf("10k records in %s of virtual time, %d events", r.simTime, r.events)
}

// TestIntegrationCrashFlushEveryMessage: with flush.messages=1 the broker
// fsyncs before it acknowledges, so a crash and restart in the middle of
// the run loses no acknowledged record; retries of batches in flight at
// the crash are deduplicated by the producer state the broker rebuilds
// from its log.
func TestIntegrationCrashFlushEveryMessage(t *testing.T) {
	sc := integrationScenario(2)
	sc.topicConfigs = map[string]string{"flush.messages": "1"}
	sc.crashAt, sc.downFor = 500*time.Millisecond, 300*time.Millisecond
	r := runScenario(t, sc)
	t.Logf("outcomes %v in %s of virtual time", r.counts, r.simTime)
	require.Zero(t, r.counts[Failed], "records failed despite a 2-minute delivery timeout")
	checkScenario(t, r, true)
}

// TestIntegrationCrashDefaultFlush: with Kafka's default flush policy
// (fsync not on the acknowledgement path) a crash loses acknowledged
// records that had not reached the disk. That is Kafka's documented
// behaviour with one replica, not a client bug: the test reports how many,
// and still requires no duplicates, no failed record in the log, and
// produce order.
func TestIntegrationCrashDefaultFlush(t *testing.T) {
	sc := integrationScenario(3)
	sc.crashAt, sc.downFor = 500*time.Millisecond, 300*time.Millisecond
	r := runScenario(t, sc)
	lost := checkScenario(t, r, false)
	t.Logf("outcomes %v; acknowledged records lost on the crash (default flush policy): %d of %d", r.counts, lost, r.counts[Acked])
}

// TestIntegrationDeterminism: the crash scenario run twice with one seed
// gives the same trace hash, and the same outcome for every record.
func TestIntegrationDeterminism(t *testing.T) {
	sc := integrationScenario(4)
	sc.records = 2000
	sc.crashAt, sc.downFor = 100*time.Millisecond, 200*time.Millisecond
	a := runScenario(t, sc)
	b := runScenario(t, sc)
	require.Equal(t, a.hash, b.hash, "trace hashes differ")
	require.Equal(t, a.events, b.events)
	require.Equal(t, a.counts, b.counts)
	for p := range a.results {
		for i := range a.results[p] {
			assert.Equal(t, a.results[p][i].Outcome, b.results[p][i].Outcome)
			assert.Equal(t, a.results[p][i].Offset, b.results[p][i].Offset)
		}
	}
	c := runScenario(t, func() scenario { sc.seed = 5; return sc }())
	assert.NotEqual(t, a.hash, c.hash, "another seed should give another run")
	t.Logf("hash %016x over %d events", a.hash, a.events)
}

// TestFaultSwarmDeterminism: swarm runs (faults, retries, resets,
// expiries) repeat exactly under one seed.
func TestFaultSwarmDeterminism(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		run := func() (scenarioResult, []string) {
			var faults []string
			sc := scenario{
				seed: seed, records: 1000, partitions: 4, chunk: 20, every: 10 * time.Millisecond,
				cfg: func(cfg *Config) {
					cfg.RequestTimeoutMs, cfg.ConnSetupTimeoutMs, cfg.DeliveryTimeoutMs = 1000, 500, 2500
				},
				faults: faultPlan(2*time.Second, &faults),
			}
			return runScenario(t, sc), faults
		}
		a, fa := run()
		b, fb := run()
		require.Equal(t, fa, fb, "seed %d", seed)
		require.Equal(t, a.hash, b.hash, "seed %d: trace hashes differ", seed)
		require.Equal(t, a.counts, b.counts, "seed %d", seed)
		t.Logf("seed %d: hash %016x, %d events, outcomes %v", seed, a.hash, a.events, a.counts)
	}
}

// TestIntegrationCrashPeriodicFlush: with flush.ms the broker keeps what
// the last periodic flush wrote, and rebuilds its producer state from it.
// The producer's next batch then follows a sequence the broker no longer
// has (OUT_OF_ORDER_SEQUENCE_NUMBER at the head), so it takes a fresh
// producer id and resends; acknowledged records after the last flush are
// lost (reported), and nothing is duplicated or reordered.
func TestIntegrationCrashPeriodicFlush(t *testing.T) {
	sc := integrationScenario(6)
	sc.every = 25 * time.Millisecond
	sc.topicConfigs = map[string]string{"flush.ms": "200"}
	sc.crashAt, sc.downFor = 1500*time.Millisecond, 300*time.Millisecond
	r := runScenario(t, sc)
	lost := checkScenario(t, r, false)
	t.Logf("outcomes %v; acknowledged records lost after the last flush: %d of %d", r.counts, lost, r.counts[Acked])
	require.Greater(t, r.resets, 0, "the producer reset its id after the broker lost its tail")
}
