package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestShippedWorkloads(t *testing.T) {
	want := map[string]struct {
		partitions, size int
		rate             float64
		minutes          int
	}{
		"1-topic-1-partition-1kb":            {1, 1024, 50000, 15},
		"1-topic-1-partition-100b":           {1, 100, 50000, 15},
		"1-topic-16-partitions-1kb":          {16, 1024, 50000, 15},
		"1-topic-100-partitions-1kb":         {100, 1024, 50000, 240},
		"simple-workload":                    {10, 1024, 10000, 5},
		"max-rate-1-topic-16-partitions-1kb": {16, 1024, 0, 5},
	}
	all := Workloads()
	var ids []string
	for _, w := range all {
		ids = append(ids, w.ID)
		require.NoError(t, w.Validate(), w.ID)
		assert.True(t, strings.HasPrefix(w.Source, "embedded:"), w.Source)
		assert.Equal(t, 1, w.WarmupDurationMinutes, "%s: OMB's default warm-up", w.ID)
		assert.Equal(t, time.Minute, w.WarmupDuration(), w.ID)
		assert.Equal(t, KeyNone, w.KeyDistributor, w.ID)
		assert.Equal(t, defaultDriver(), w.Driver, w.ID)
		exp, ok := want[w.ID]
		if !ok {
			continue
		}
		assert.Equal(t, 1, w.Topics, w.ID)
		assert.Equal(t, exp.partitions, w.PartitionsPerTopic, w.ID)
		assert.Equal(t, exp.size, w.MessageSize, w.ID)
		assert.Equal(t, exp.rate, w.ProducerRate, w.ID)
		assert.Equal(t, time.Duration(exp.minutes)*time.Minute, w.TestDuration(), w.ID)
		assert.Equal(t, 1, w.SubscriptionsPerTopic, w.ID)
		assert.Equal(t, 1, w.ProducersPerTopic, w.ID)
		assert.Equal(t, 1, w.ConsumerPerSubscription, w.ID)
	}
	for id := range want {
		assert.Contains(t, ids, id)
	}
	assert.IsIncreasing(t, ids)

	w, ok := WorkloadByID("simple-workload")
	require.True(t, ok)
	assert.Equal(t, "Simple Workload 1 producer on 1 topic", w.Name)
	_, ok = WorkloadByID("no-such-workload")
	assert.False(t, ok)
}

func TestParseWorkloadGood(t *testing.T) {
	w, err := ParseWorkload([]byte(`
name: full
topics: 2
partitionsPerTopic: 8
keyDistributor: RANDOM_NANO
messageSize: 512
useRandomizedPayloads: true
randomBytesRatio: 0.5
randomizedPayloadPoolSize: 100
payloadFile: ""
subscriptionsPerTopic: 2
producersPerTopic: 3
consumerPerSubscription: 4
producerRate: 2500.5
consumerBacklogSizeGB: 2
backlogDrainRatio: 0.9
testDurationMinutes: 10
warmupDurationMinutes: 0
driver:
  acks: "1"
  lingerMs: 5
  batchSizeBytes: 131072
  compression: zstd
  idempotence: false
  replicationFactor: 2
  topicConfigs:
    min.insync.replicas: 2
  consumerMode: assign
  maxBufferedRecords: 1000
  maxInFlightPerBroker: 10
`), "")
	require.NoError(t, err)
	assert.Equal(t, "full", w.ID, "derived from the name")
	assert.Equal(t, KeyRandomNano, w.KeyDistributor)
	assert.Equal(t, 2500.5, w.ProducerRate)
	assert.Equal(t, int64(2), w.ConsumerBacklogSizeGB)
	assert.Equal(t, 0.9, w.BacklogDrainRatio)
	assert.Zero(t, w.WarmupDuration(), "an explicit 0 overrides the default 1")
	assert.Equal(t, 10*time.Minute, w.TestDuration())
	assert.Equal(t, "1", w.Driver.Acks)
	assert.False(t, w.Driver.Idempotent())
	assert.Equal(t, map[string]string{"min.insync.replicas": "2"}, w.Driver.TopicConfigs)
	assert.Equal(t, ConsumerAssign, w.Driver.ConsumerMode)
	assert.Equal(t, 10, w.Driver.MaxInFlightPerBroker)

	// Defaults of what is left out.
	w, err = ParseWorkload([]byte("name: x\ntopics: 1\npartitionsPerTopic: 1\nmessageSize: 10\nproducersPerTopic: 1\nproducerRate: 1\ntestDurationMinutes: 1\ndriver:\n  acks: \"0\"\n"), "x")
	require.NoError(t, err)
	assert.Equal(t, KeyNone, w.KeyDistributor)
	assert.Equal(t, 1.0, w.BacklogDrainRatio)
	assert.Equal(t, 1, w.WarmupDurationMinutes)
	assert.False(t, w.Driver.Idempotent(), "idempotence follows acks when not given")
	assert.Equal(t, 1, w.Driver.LingerMs, "other driver defaults stay")
	assert.Zero(t, w.SubscriptionsPerTopic, "a producer-only workload")
}

func TestParseWorkloadBad(t *testing.T) {
	const base = "name: bad\ntopics: 1\npartitionsPerTopic: 1\nmessageSize: 100\nsubscriptionsPerTopic: 1\nconsumerPerSubscription: 1\nproducersPerTopic: 1\nproducerRate: 100\ntestDurationMinutes: 1\n"
	cases := []struct {
		name, yaml string
		want       []string // substrings of the error
	}{
		{"unknown field", base + "partitionsPerTopics: 4\n", []string{`line 10: unknown field "partitionsPerTopics"`, `did you mean "partitionsPerTopic"`}},
		{"unknown driver field", base + "driver:\n  lingerMS: 5\n  fsync: true\n", []string{`unknown field "driver.lingerMS"`, `did you mean "driver.lingerMs"`, `unknown field "driver.fsync"`}},
		{"duplicate field", base + "topics: 2\n", []string{"line 10: field topics given twice"}},
		{"wrong type", strings.Replace(base, "topics: 1", "topics: many", 1), []string{"line 2: field topics: cannot unmarshal", "many"}},
		{"wrong type for rate", strings.Replace(base, "producerRate: 100", "producerRate: fast", 1), []string{"line 8: field producerRate", "fast"}},
		{"wrong type in driver", base + "driver:\n  idempotence: maybe\n", []string{"field driver.idempotence", "maybe"}},
		{"bad key distributor", base + "keyDistributor: SOMETIMES\n", []string{"field keyDistributor", "SOMETIMES"}},
		{"zero topics", strings.Replace(base, "topics: 1", "topics: 0", 1), []string{"field topics: must be at least 1"}},
		{"negative rate", strings.Replace(base, "producerRate: 100", "producerRate: -5", 1), []string{"field producerRate: must not be negative"}},
		{"ratio", base + "randomBytesRatio: 1.5\n", []string{"field randomBytesRatio"}},
		{"backlog while probing", strings.Replace(base, "producerRate: 100", "producerRate: 0", 1) + "consumerBacklogSizeGB: 1\n", []string{"field consumerBacklogSizeGB"}},
		{"zero duration", strings.Replace(base, "testDurationMinutes: 1", "testDurationMinutes: 0", 1), []string{"field testDurationMinutes"}},
		{"acks", base + "driver:\n  acks: some\n", []string{"field driver.acks"}},
		{"idempotence without acks all", base + "driver:\n  acks: \"1\"\n  idempotence: true\n", []string{"field driver.idempotence: needs acks all"}},
		{"compression", base + "driver:\n  compression: brotli\n", []string{"field driver.compression", "brotli"}},
		{"consumer mode", base + "driver:\n  consumerMode: share\n", []string{"field driver.consumerMode"}},
		{"in flight with idempotence", base + "driver:\n  maxInFlightPerBroker: 5\n", []string{"field driver.maxInFlightPerBroker"}},
		{"driver not a mapping", base + "driver: fast\n", []string{"field driver must be a mapping"}},
		{"not a mapping", "- a\n- b\n", []string{"the document must be a mapping"}},
		{"empty", "", []string{"empty document"}},
		{"not yaml", "name: [\n", []string{"not valid YAML"}},
		{"too many producers", strings.Replace(base, "producersPerTopic: 1", "producersPerTopic: 20000", 1), []string{"field producersPerTopic", "limit"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseWorkload([]byte(c.yaml), "bad-file")
			require.Error(t, err)
			assert.Contains(t, err.Error(), "workload bad-file: ")
			for _, want := range c.want {
				assert.Contains(t, err.Error(), want)
			}
		})
	}
}

func TestWorkloadFiles(t *testing.T) {
	dir := t.TempDir()
	payload := strings.Repeat("ab", 8)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "payload"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "payload", "p.data"), []byte(payload), 0o644))
	file := filepath.Join(dir, "my-workload.yaml")
	body := "name: mine\ntopics: 1\npartitionsPerTopic: 1\nmessageSize: 16\npayloadFile: payload/p.data\nproducersPerTopic: 1\nproducerRate: 10\ntestDurationMinutes: 1\n"
	require.NoError(t, os.WriteFile(file, []byte(body), 0o644))

	w, err := OpenWorkload(file)
	require.NoError(t, err)
	assert.Equal(t, "my-workload", w.ID)
	assert.Equal(t, file, w.Source)
	pool, source, err := payloads(w, nil)
	require.NoError(t, err)
	assert.Equal(t, [][]byte{[]byte(payload)}, pool, "payloadFile is found beside the workload file")
	assert.Contains(t, source, "p.data")

	w.MessageSize = 17
	_, _, err = payloads(w, nil)
	assert.ErrorContains(t, err, "length 16, but messageSize is 17")

	w, err = OpenWorkload("simple-workload")
	require.NoError(t, err)
	assert.Equal(t, "embedded:simple-workload.yaml", w.Source)

	_, err = OpenWorkload(filepath.Join(dir, "missing.yaml"))
	assert.ErrorContains(t, err, "simple-workload", "lists the shipped workloads")
}

func TestWithDurations(t *testing.T) {
	w, ok := WorkloadByID("1-topic-100-partitions-1kb")
	require.True(t, ok)
	short := w.WithDurations(3*time.Second, 0)
	assert.Equal(t, 3*time.Second, short.TestDuration())
	assert.Zero(t, short.WarmupDuration())
	assert.Equal(t, 240*time.Minute, w.TestDuration(), "the original is unchanged")
	assert.Equal(t, 240, short.TestDurationMinutes, "the file's fields are kept")
	assert.Error(t, w.WithDurations(0, 0).Validate())
}

func TestSlug(t *testing.T) {
	assert.Equal(t, "1-topic-1-partition-1kb", slug("1 topic / 1 partition / 1Kb"))
	assert.Equal(t, "workload", slug("///"))
	assert.Equal(t, "a_b.c", slug("  A_b.C  "))
}
