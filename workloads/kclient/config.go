package kclient

import (
	"errors"
	"fmt"

	"github.com/gregor-dst/gregor/broker/records"
)

// Config is everything a Client is built with. Names follow Kafka's client
// configs where one exists (request.timeout.ms, retry.backoff.ms,
// metadata.max.age.ms, max.in.flight.requests.per.connection, acks,
// enable.idempotence, compression.type, delivery.timeout.ms); every queue
// the client keeps has its bound here.
type Config struct {
	// Bootstrap lists "host:port" addresses to ask for metadata before any
	// metadata is known.
	Bootstrap []string
	// ClientID is sent in every request header.
	ClientID string
	// RequestTimeoutMs bounds each request from the moment it is queued.
	// On expiry the request fails with ErrTimeout; if it had been sent,
	// the connection is closed too (its answer can no longer be matched
	// safely), and for a produce the outcome is unknown.
	RequestTimeoutMs int64
	// ConnSetupTimeoutMs bounds a connection's dial and ApiVersions
	// handshake (socket.connection.setup.timeout.ms): a dial into a
	// partition may otherwise hang for the network's whole dial timeout,
	// holding every request queued on it.
	ConnSetupTimeoutMs int64
	// RetryBackoffMs is the pause before a retry.
	RetryBackoffMs int64
	// MetadataMaxAgeMs: metadata older than this is refreshed when next
	// used.
	MetadataMaxAgeMs int64
	// RetryTimeoutMs bounds the retries of one admin or consumer call
	// (Metadata, CreateTopic, ListOffsets, Fetch) on retriable errors.
	RetryTimeoutMs int64
	// InFlightPerConnMax bounds requests sent and not yet answered on one
	// connection (max.in.flight.requests.per.connection).
	InFlightPerConnMax int
	// QueuedPerConnMax bounds requests waiting to be sent on one connection
	// (behind the in-flight ones, or while it dials).
	QueuedPerConnMax int
	// ConnsMax bounds open connections (one per broker address).
	ConnsMax int
	// MetadataWaitersMax bounds the callers waiting for one metadata
	// refresh.
	MetadataWaitersMax int

	// Acks is 0, 1 or -1 (all). Idempotence needs -1.
	Acks int16
	// Idempotent turns on the idempotent producer: a producer id from
	// InitProducerId, a sequence number per partition, at most five
	// batches in flight per partition, retries with the same sequence.
	Idempotent bool
	// Codec compresses produced batches.
	Codec records.Codec
	// DeliveryTimeoutMs bounds how long a record may wait for its
	// acknowledgement, retries included, from Produce.
	DeliveryTimeoutMs int64
	// BatchRecordsMax bounds the records in one produced batch.
	BatchRecordsMax int
	// BatchBytesMax bounds a batch's records by their key and value bytes
	// (a batch always takes at least one record); keep it under the
	// broker's max.message.bytes, which refuses larger batches outright.
	BatchBytesMax int
	// BufferedRecordsPerPartitionMax bounds records waiting for a batch in
	// one partition; Produce past it fails at once with ErrQueueFull.
	BufferedRecordsPerPartitionMax int
	// PartitionsMax bounds the partitions the producer keeps state for.
	PartitionsMax int

	// FetchWaitMsMax, FetchBytesMin, FetchBytesMax and
	// FetchPartitionBytesMax are the Fetch request's fields
	// (fetch.max.wait.ms, fetch.min.bytes, fetch.max.bytes,
	// max.partition.fetch.bytes).
	FetchWaitMsMax         int32
	FetchBytesMin          int32
	FetchBytesMax          int32
	FetchPartitionBytesMax int32
	// FetchDecompressedBytesMax bounds what one fetched batch may
	// decompress to.
	FetchDecompressedBytesMax int

	_ struct{} // disallow positional literals
}

// DefaultConfig is Kafka's client defaults (an idempotent producer with
// acks=all, as Kafka 3.0+ defaults to) for the given bootstrap brokers.
func DefaultConfig(bootstrap ...string) Config {
	return Config{
		Bootstrap:                      bootstrap,
		ClientID:                       "kclient",
		RequestTimeoutMs:               30_000,
		ConnSetupTimeoutMs:             10_000,
		RetryBackoffMs:                 100,
		MetadataMaxAgeMs:               300_000,
		RetryTimeoutMs:                 60_000,
		InFlightPerConnMax:             5,
		QueuedPerConnMax:               1024,
		ConnsMax:                       64,
		MetadataWaitersMax:             4096,
		Acks:                           -1,
		Idempotent:                     true,
		Codec:                          records.CodecNone,
		DeliveryTimeoutMs:              120_000,
		BatchRecordsMax:                100,
		BatchBytesMax:                  512 << 10,
		BufferedRecordsPerPartitionMax: 10_000,
		PartitionsMax:                  1024,
		FetchWaitMsMax:                 500,
		FetchBytesMin:                  1,
		FetchBytesMax:                  50 << 20,
		FetchPartitionBytesMax:         1 << 20,
		FetchDecompressedBytesMax:      64 << 20,
	}
}

// idempotentInFlightMax is the most batches an idempotent producer keeps in
// flight per partition: the broker remembers the last five batches of each
// producer (Kafka's NUM_BATCHES_TO_RETAIN), and a retry must fall in that
// window to be recognised as a duplicate.
const idempotentInFlightMax = 5

func (c Config) validate() error {
	var errs []error
	positive := func(name string, v int64) {
		if v <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive, got %d", name, v))
		}
	}
	if len(c.Bootstrap) == 0 {
		errs = append(errs, errors.New("Bootstrap must name at least one broker"))
	}
	positive("RequestTimeoutMs", c.RequestTimeoutMs)
	positive("ConnSetupTimeoutMs", c.ConnSetupTimeoutMs)
	positive("RetryBackoffMs", c.RetryBackoffMs)
	positive("MetadataMaxAgeMs", c.MetadataMaxAgeMs)
	positive("RetryTimeoutMs", c.RetryTimeoutMs)
	positive("InFlightPerConnMax", int64(c.InFlightPerConnMax))
	positive("QueuedPerConnMax", int64(c.QueuedPerConnMax))
	positive("ConnsMax", int64(c.ConnsMax))
	positive("MetadataWaitersMax", int64(c.MetadataWaitersMax))
	positive("DeliveryTimeoutMs", c.DeliveryTimeoutMs)
	positive("BatchRecordsMax", int64(c.BatchRecordsMax))
	positive("BatchBytesMax", int64(c.BatchBytesMax))
	positive("BufferedRecordsPerPartitionMax", int64(c.BufferedRecordsPerPartitionMax))
	positive("PartitionsMax", int64(c.PartitionsMax))
	positive("FetchBytesMax", int64(c.FetchBytesMax))
	positive("FetchPartitionBytesMax", int64(c.FetchPartitionBytesMax))
	positive("FetchDecompressedBytesMax", int64(c.FetchDecompressedBytesMax))
	if c.FetchWaitMsMax < 0 || c.FetchBytesMin < 0 {
		errs = append(errs, errors.New("FetchWaitMsMax and FetchBytesMin must not be negative"))
	}
	if c.Acks != 0 && c.Acks != 1 && c.Acks != -1 {
		errs = append(errs, fmt.Errorf("Acks must be 0, 1 or -1, got %d", c.Acks))
	}
	if c.Idempotent && c.Acks != -1 {
		errs = append(errs, errors.New("Idempotent needs Acks -1, as Kafka requires"))
	}
	if c.Idempotent && c.InFlightPerConnMax > idempotentInFlightMax {
		errs = append(errs, fmt.Errorf("Idempotent allows at most %d requests in flight per connection, got %d",
			idempotentInFlightMax, c.InFlightPerConnMax))
	}
	if c.Codec < records.CodecNone || c.Codec > records.CodecZstd {
		errs = append(errs, fmt.Errorf("Codec %d is unknown", c.Codec))
	}
	return errors.Join(errs...)
}
