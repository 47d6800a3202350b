package bench

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// KeyDistributor says how producers key records: OMB's KeyDistributorType.
type KeyDistributor string

// The key distributors of OMB. Keys come from a pool of 10,000 random 7-byte
// keys, base64url-encoded, as in OMB's KeyDistributor.
const (
	KeyNone       KeyDistributor = "NO_KEY"          // no key: the client's sticky partitioner spreads records
	KeyRoundRobin KeyDistributor = "KEY_ROUND_ROBIN" // each producer walks the key pool in order
	KeyRandomNano KeyDistributor = "RANDOM_NANO"     // key index = monotonic nanoseconds mod pool size
)

// ConsumerMode says how a subscription's consumers get their partitions.
type ConsumerMode string

const (
	// ConsumerGroup: each subscription is a consumer group (OMB's model).
	ConsumerGroup ConsumerMode = "group"
	// ConsumerAssign: partitions are assigned directly, partition p to
	// consumer p mod consumerPerSubscription, for targets without groups.
	ConsumerAssign ConsumerMode = "assign"
)

// Limits on a workload, so that a typo cannot ask for a million producers.
const (
	topicPartitionsMax = 100_000
	clientsMax         = 10_000
	messageBytesMax    = 64 << 20
	payloadPoolMax     = 100_000
	durationMinutesMax = 7 * 24 * 60
)

// Workload is an OpenMessaging Benchmark workload: the fields of OMB's
// Workload.java with its YAML names and defaults, plus gregor's optional
// driver section. Rates are messages per second over all producers.
type Workload struct {
	Name                      string         `yaml:"name" json:"name"`
	Topics                    int            `yaml:"topics" json:"topics"`
	PartitionsPerTopic        int            `yaml:"partitionsPerTopic" json:"partitionsPerTopic"`
	KeyDistributor            KeyDistributor `yaml:"keyDistributor" json:"keyDistributor"`
	MessageSize               int            `yaml:"messageSize" json:"messageSize"`
	UseRandomizedPayloads     bool           `yaml:"useRandomizedPayloads" json:"useRandomizedPayloads"`
	RandomBytesRatio          float64        `yaml:"randomBytesRatio" json:"randomBytesRatio"`
	RandomizedPayloadPoolSize int            `yaml:"randomizedPayloadPoolSize" json:"randomizedPayloadPoolSize"`
	PayloadFile               string         `yaml:"payloadFile" json:"payloadFile"`
	SubscriptionsPerTopic     int            `yaml:"subscriptionsPerTopic" json:"subscriptionsPerTopic"`
	ProducersPerTopic         int            `yaml:"producersPerTopic" json:"producersPerTopic"`
	ConsumerPerSubscription   int            `yaml:"consumerPerSubscription" json:"consumerPerSubscription"`
	// ProducerRate is the total rate in messages per second; 0 means "find
	// the maximum sustainable rate" (see RateController).
	ProducerRate          float64 `yaml:"producerRate" json:"producerRate"`
	ConsumerBacklogSizeGB int64   `yaml:"consumerBacklogSizeGB" json:"consumerBacklogSizeGB"`
	BacklogDrainRatio     float64 `yaml:"backlogDrainRatio" json:"backlogDrainRatio"`
	TestDurationMinutes   int     `yaml:"testDurationMinutes" json:"testDurationMinutes"`
	WarmupDurationMinutes int     `yaml:"warmupDurationMinutes" json:"warmupDurationMinutes"`

	// Driver is gregor's addition: how the franz-go clients and the topics
	// are configured. OMB keeps this in a separate driver file.
	Driver DriverConfig `yaml:"driver" json:"driver"`

	// ID names the workload in file names: the workload file's base name
	// without extension, as OMB names its result files.
	ID string `yaml:"-" json:"id"`
	// Source is where the workload was read from: a path, or
	// "embedded:<file>" for the workloads shipped in the binary.
	Source string `yaml:"-" json:"source,omitempty"`

	// Overrides from WithDurations; zero means "from the minutes fields".
	testDuration   time.Duration
	warmupDuration time.Duration
	durationsSet   bool
}

// DriverConfig configures the franz-go clients and the topics. The
// defaults follow OMB's driver-kafka/kafka-throughput.yaml: RF 3, acks=all,
// linger 1 ms, no compression, idempotence on.
type DriverConfig struct {
	// Acks is "all" (or "-1"), "1" or "0".
	Acks string `yaml:"acks" json:"acks"`
	// LingerMs is how long a partition's batch waits for more records.
	LingerMs int `yaml:"lingerMs" json:"lingerMs"`
	// BatchSizeBytes caps a record batch. The default, 1,000,012, is
	// franz-go's: Kafka's old message.max.bytes, which every Kafka-protocol
	// broker accepts (OMB's 1 MiB is above some brokers' limit).
	BatchSizeBytes int `yaml:"batchSizeBytes" json:"batchSizeBytes"`
	// Compression is none, gzip, snappy, lz4 or zstd.
	Compression string `yaml:"compression" json:"compression"`
	// Idempotence defaults to on exactly when acks is all.
	Idempotence *bool `yaml:"idempotence" json:"idempotence"`
	// ReplicationFactor of the benchmark topics; 0 means min(3, brokers).
	ReplicationFactor int `yaml:"replicationFactor" json:"replicationFactor"`
	// TopicConfigs are set on every benchmark topic (OMB's topicConfig),
	// for example min.insync.replicas: "2".
	TopicConfigs map[string]string `yaml:"topicConfigs" json:"topicConfigs,omitempty"`
	// ConsumerMode is group (default) or assign.
	ConsumerMode ConsumerMode `yaml:"consumerMode" json:"consumerMode"`
	// MaxBufferedRecords bounds each producer's unacknowledged records.
	// When it is full, sending blocks and the open-loop schedule falls
	// behind, which is what publish delay measures.
	MaxBufferedRecords int `yaml:"maxBufferedRecords" json:"maxBufferedRecords"`
	// MaxInFlightPerBroker bounds produce requests in flight per broker
	// when idempotence is off; 0 keeps the client's default (1). With
	// idempotence on, franz-go always allows 5.
	MaxInFlightPerBroker int `yaml:"maxInFlightPerBroker" json:"maxInFlightPerBroker"`
}

// defaultWorkload holds the defaults that absent YAML fields keep.
func defaultWorkload() Workload {
	return Workload{
		KeyDistributor:        KeyNone,
		BacklogDrainRatio:     1.0,
		WarmupDurationMinutes: 1,
		Driver:                defaultDriver(),
	}
}

func defaultDriver() DriverConfig {
	return DriverConfig{
		Acks:               "all",
		LingerMs:           1,
		BatchSizeBytes:     1_000_012,
		Compression:        "none",
		ConsumerMode:       ConsumerGroup,
		MaxBufferedRecords: 50_000,
	}
}

// ParseWorkload parses an OMB workload YAML document. Unknown fields and
// values of the wrong type or out of range are errors that name the field
// and its line. id names the workload in result file names; if empty, it
// is derived from the workload's name.
func ParseWorkload(data []byte, id string) (Workload, error) {
	w := defaultWorkload()
	if err := decodeStrict(data, &w); err != nil {
		return Workload{}, fmt.Errorf("workload %s: %w", displayID(id), err)
	}
	w.ID = id
	if w.ID == "" {
		w.ID = slug(w.Name)
	}
	if err := w.Validate(); err != nil {
		return Workload{}, fmt.Errorf("workload %s: %w", displayID(id), err)
	}
	return w, nil
}

func displayID(id string) string {
	if id == "" {
		return "(unnamed)"
	}
	return id
}

// LoadWorkload reads and parses a workload file. Its ID is the file's base
// name without extension, and payloadFile is resolved against the file's
// directory.
func LoadWorkload(file string) (Workload, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return Workload{}, fmt.Errorf("workload: %w", err)
	}
	id := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	w, err := ParseWorkload(data, id)
	if err != nil {
		return Workload{}, err
	}
	w.Source = file
	return w, nil
}

//go:embed workloads/*.yaml
var embeddedWorkloads embed.FS

// Workloads returns the standard OMB workloads shipped in the binary,
// sorted by ID. They are parsed on every call, so callers may change them.
func Workloads() []Workload {
	entries, err := fs.ReadDir(embeddedWorkloads, "workloads")
	if err != nil {
		panic(fmt.Sprintf("bench: embedded workloads: %v", err))
	}
	var all []Workload
	for _, e := range entries {
		w, err := embeddedWorkload(e.Name())
		if err != nil {
			panic(fmt.Sprintf("bench: embedded %v", err)) // the tests parse every shipped file
		}
		all = append(all, w)
	}
	slices.SortFunc(all, func(a, b Workload) int { return strings.Compare(a.ID, b.ID) })
	return all
}

func embeddedWorkload(name string) (Workload, error) {
	data, err := embeddedWorkloads.ReadFile(path.Join("workloads", name))
	if err != nil {
		return Workload{}, err
	}
	w, err := ParseWorkload(data, strings.TrimSuffix(name, path.Ext(name)))
	if err != nil {
		return Workload{}, err
	}
	w.Source = "embedded:" + name
	return w, nil
}

// WorkloadByID returns the shipped workload with that ID.
func WorkloadByID(id string) (Workload, bool) {
	w, err := embeddedWorkload(id + ".yaml")
	if err != nil {
		return Workload{}, false
	}
	return w, true
}

// OpenWorkload returns the shipped workload with that ID or, failing that,
// the workload in the file at that path.
func OpenWorkload(idOrPath string) (Workload, error) {
	if w, ok := WorkloadByID(idOrPath); ok {
		return w, nil
	}
	if _, err := os.Stat(idOrPath); errors.Is(err, fs.ErrNotExist) {
		var ids []string
		for _, w := range Workloads() {
			ids = append(ids, w.ID)
		}
		return Workload{}, fmt.Errorf("workload %q: no such file and no shipped workload of that name (shipped: %s)",
			idOrPath, strings.Join(ids, ", "))
	}
	return LoadWorkload(idOrPath)
}

// WithDurations returns a copy of w that runs for test after a warm-up of
// warmup, in place of testDurationMinutes and warmupDurationMinutes, so that
// tests and quick runs can use seconds. A zero warmup means no warm-up.
func (w Workload) WithDurations(test, warmup time.Duration) Workload {
	w.testDuration, w.warmupDuration, w.durationsSet = test, warmup, true
	return w
}

// withoutOverrides is w as its file says; results record the effective
// durations beside it.
func (w Workload) withoutOverrides() Workload {
	w.testDuration, w.warmupDuration, w.durationsSet = 0, 0, false
	return w
}

// TestDuration is how long the measured phase runs.
func (w Workload) TestDuration() time.Duration {
	if w.durationsSet {
		return w.testDuration
	}
	return time.Duration(w.TestDurationMinutes) * time.Minute
}

// WarmupDuration is how long load runs before the measured phase.
func (w Workload) WarmupDuration() time.Duration {
	if w.durationsSet {
		return w.warmupDuration
	}
	return time.Duration(w.WarmupDurationMinutes) * time.Minute
}

// Idempotent reports whether the producers are idempotent: as configured,
// or by default exactly when acks is all.
func (d DriverConfig) Idempotent() bool {
	if d.Idempotence != nil {
		return *d.Idempotence
	}
	return d.acksAll()
}

func (d DriverConfig) acksAll() bool { return d.Acks == "all" || d.Acks == "-1" }

// Validate checks every field's range and the fields' consistency. Each
// error names the field.
func (w Workload) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("field %s: %s", field, fmt.Sprintf(format, args...)))
	}
	if strings.TrimSpace(w.Name) == "" {
		bad("name", "must not be empty")
	}
	if w.Topics < 1 {
		bad("topics", "must be at least 1, got %d", w.Topics)
	}
	if w.PartitionsPerTopic < 1 {
		bad("partitionsPerTopic", "must be at least 1, got %d", w.PartitionsPerTopic)
	}
	if w.Topics >= 1 && w.PartitionsPerTopic >= 1 && w.Topics*w.PartitionsPerTopic > topicPartitionsMax {
		bad("partitionsPerTopic", "topics × partitionsPerTopic = %d is over the limit of %d",
			w.Topics*w.PartitionsPerTopic, topicPartitionsMax)
	}
	switch w.KeyDistributor {
	case KeyNone, KeyRoundRobin, KeyRandomNano:
	default:
		bad("keyDistributor", "must be one of %s, %s, %s; got %q", KeyNone, KeyRoundRobin, KeyRandomNano, w.KeyDistributor)
	}
	if w.MessageSize < 1 || w.MessageSize > messageBytesMax {
		bad("messageSize", "must be 1..%d bytes, got %d", messageBytesMax, w.MessageSize)
	}
	if w.RandomBytesRatio < 0 || w.RandomBytesRatio > 1 {
		bad("randomBytesRatio", "must be within 0..1, got %v", w.RandomBytesRatio)
	}
	if w.UseRandomizedPayloads && (w.RandomizedPayloadPoolSize < 1 || w.RandomizedPayloadPoolSize > payloadPoolMax) {
		bad("randomizedPayloadPoolSize", "must be 1..%d with useRandomizedPayloads, got %d", payloadPoolMax, w.RandomizedPayloadPoolSize)
	}
	w.validateClients(bad)
	w.validateRates(bad)
	if err := w.Driver.validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (w Workload) validateClients(bad func(field, format string, args ...any)) {
	if w.SubscriptionsPerTopic < 0 {
		bad("subscriptionsPerTopic", "must not be negative, got %d", w.SubscriptionsPerTopic)
	}
	if w.ProducersPerTopic < 1 {
		bad("producersPerTopic", "must be at least 1, got %d", w.ProducersPerTopic)
	}
	if w.ConsumerPerSubscription < 0 {
		bad("consumerPerSubscription", "must not be negative, got %d", w.ConsumerPerSubscription)
	}
	if w.SubscriptionsPerTopic > 0 && w.ConsumerPerSubscription < 1 {
		bad("consumerPerSubscription", "must be at least 1 when subscriptionsPerTopic is %d", w.SubscriptionsPerTopic)
	}
	if p := w.Topics * w.ProducersPerTopic; p > clientsMax {
		bad("producersPerTopic", "topics × producersPerTopic = %d is over the limit of %d", p, clientsMax)
	}
	if c := w.Topics * w.SubscriptionsPerTopic * w.ConsumerPerSubscription; c > clientsMax {
		bad("consumerPerSubscription", "topics × subscriptionsPerTopic × consumerPerSubscription = %d is over the limit of %d", c, clientsMax)
	}
}

func (w Workload) validateRates(bad func(field, format string, args ...any)) {
	if w.ProducerRate < 0 {
		bad("producerRate", "must not be negative (0 finds the maximum sustainable rate), got %v", w.ProducerRate)
	}
	if w.ConsumerBacklogSizeGB < 0 {
		bad("consumerBacklogSizeGB", "must not be negative, got %d", w.ConsumerBacklogSizeGB)
	}
	if w.ConsumerBacklogSizeGB > 0 && w.ProducerRate == 0 {
		bad("consumerBacklogSizeGB", "cannot build a backlog while probing the maximum rate (producerRate 0), as in OMB")
	}
	if w.ConsumerBacklogSizeGB > 0 && w.SubscriptionsPerTopic == 0 {
		bad("consumerBacklogSizeGB", "a backlog needs subscriptions to drain it")
	}
	if w.BacklogDrainRatio < 0 || w.BacklogDrainRatio > 1 {
		bad("backlogDrainRatio", "must be within 0..1, got %v", w.BacklogDrainRatio)
	}
	if w.TestDurationMinutes < 0 || w.TestDurationMinutes > durationMinutesMax {
		bad("testDurationMinutes", "must be 0..%d, got %d", durationMinutesMax, w.TestDurationMinutes)
	}
	if w.WarmupDurationMinutes < 0 || w.WarmupDurationMinutes > durationMinutesMax {
		bad("warmupDurationMinutes", "must be 0..%d, got %d", durationMinutesMax, w.WarmupDurationMinutes)
	}
	if w.TestDuration() <= 0 {
		bad("testDurationMinutes", "the test must last more than 0 (OMB's 0 means forever, which gregor does not run)")
	}
	if w.WarmupDuration() < 0 {
		bad("warmupDurationMinutes", "the warm-up must not be negative")
	}
}

func (d DriverConfig) validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("field driver.%s: %s", field, fmt.Sprintf(format, args...)))
	}
	switch d.Acks {
	case "all", "-1", "1", "0":
	default:
		bad("acks", `must be "all", "-1", "1" or "0", got %q`, d.Acks)
	}
	if d.LingerMs < 0 || d.LingerMs > 60_000 {
		bad("lingerMs", "must be 0..60000, got %d", d.LingerMs)
	}
	if d.BatchSizeBytes < 1 || d.BatchSizeBytes > messageBytesMax {
		bad("batchSizeBytes", "must be 1..%d, got %d", messageBytesMax, d.BatchSizeBytes)
	}
	if _, ok := compressionCodecs[d.Compression]; !ok {
		bad("compression", "must be one of none, gzip, snappy, lz4, zstd; got %q", d.Compression)
	}
	if d.Idempotence != nil && *d.Idempotence && !d.acksAll() {
		bad("idempotence", "needs acks all, got acks %q", d.Acks)
	}
	if d.ReplicationFactor < 0 || d.ReplicationFactor > 32 {
		bad("replicationFactor", "must be 0..32 (0: min(3, brokers)), got %d", d.ReplicationFactor)
	}
	switch d.ConsumerMode {
	case ConsumerGroup, ConsumerAssign:
	default:
		bad("consumerMode", "must be %q or %q, got %q", ConsumerGroup, ConsumerAssign, d.ConsumerMode)
	}
	if d.MaxBufferedRecords < 1 || d.MaxBufferedRecords > 10_000_000 {
		bad("maxBufferedRecords", "must be 1..10000000, got %d", d.MaxBufferedRecords)
	}
	if d.MaxInFlightPerBroker < 0 || d.MaxInFlightPerBroker > 1000 {
		bad("maxInFlightPerBroker", "must be 0..1000, got %d", d.MaxInFlightPerBroker)
	}
	if d.MaxInFlightPerBroker > 0 && d.Idempotent() {
		bad("maxInFlightPerBroker", "only applies with idempotence off (idempotent producers keep 5 in flight)")
	}
	return errors.Join(errs...)
}

// slug turns a workload name into a file-name-safe ID.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_'
		switch {
		case ok:
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	out := strings.TrimSuffix(b.String(), "-")
	if out == "" {
		return "workload"
	}
	return out
}
