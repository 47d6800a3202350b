package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// How a record carries its send time for end-to-end latency: the first 8
// bytes of the payload (big-endian nanoseconds on the run's monotonic
// clock), so the wire size is exactly messageSize as in OMB; payloads
// shorter than 8 bytes carry it in a header instead. The readiness probe
// carries a probeHeader and no send time.
const (
	sendTimeBytes  = 8
	sendTimeHeader = "t"
	probeHeader    = "gregor-bench-probe"
)

var compressionCodecs = map[string]kgo.CompressionCodec{
	"none":   kgo.NoCompression(),
	"gzip":   kgo.GzipCompression(),
	"snappy": kgo.SnappyCompression(),
	"lz4":    kgo.Lz4Compression(),
	"zstd":   kgo.ZstdCompression(),
}

// producerOptions are the franz-go options for the driver settings.
func producerOptions(d DriverConfig) []kgo.Opt {
	opts := []kgo.Opt{
		kgo.ProducerLinger(time.Duration(d.LingerMs) * time.Millisecond),
		kgo.ProducerBatchMaxBytes(int32(d.BatchSizeBytes)),
		kgo.ProducerBatchCompression(compressionCodecs[d.Compression]),
		kgo.MaxBufferedRecords(d.MaxBufferedRecords),
	}
	switch d.Acks {
	case "1":
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()))
	case "0":
		opts = append(opts, kgo.RequiredAcks(kgo.NoAck()))
	default:
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
	}
	if !d.Idempotent() {
		opts = append(opts, kgo.DisableIdempotentWrite())
		if d.MaxInFlightPerBroker > 0 {
			opts = append(opts, kgo.MaxProduceRequestsInflightPerBroker(d.MaxInFlightPerBroker))
		}
	}
	return opts
}

// clientConfigs names the effective client settings for the result, as
// Kafka client properties where one exists.
func clientConfigs(d DriverConfig, mode ConsumerMode) map[string]string {
	inFlight := "5"
	if !d.Idempotent() {
		inFlight = strconv.Itoa(max(1, d.MaxInFlightPerBroker))
	}
	m := map[string]string{
		"client":                                "franz-go kgo " + moduleVersion("franz-go"),
		"acks":                                  d.Acks,
		"linger.ms":                             strconv.Itoa(d.LingerMs),
		"batch.size":                            strconv.Itoa(d.BatchSizeBytes),
		"compression.type":                      d.Compression,
		"enable.idempotence":                    strconv.FormatBool(d.Idempotent()),
		"max.in.flight.requests.per.connection": inFlight,
		"max.buffered.records":                  strconv.Itoa(d.MaxBufferedRecords),
		"partitioner":                           "franz-go default: sticky uniform-bytes without keys, murmur2 with keys",
		"consumer.mode":                         string(mode),
		"auto.offset.reset":                     "earliest",
		"max.partition.fetch.bytes":             strconv.Itoa(consumerPartitionFetchBytes),
	}
	if mode == ConsumerGroup {
		m["enable.auto.commit"] = "true (franz-go: every 5 s and on revoke)"
	}
	return m
}

// consumerPartitionFetchBytes is OMB's max.partition.fetch.bytes.
const consumerPartitionFetchBytes = 10 << 20

// producer is one OMB producer: one client, one topic, one sending
// goroutine. Its latency recorder is written by franz-go's promise
// goroutine, its delay recorder by the sender.
type producer struct {
	client   *kgo.Client
	topic    string
	payloads [][]byte
	keys     keyGen
	buffers  sync.Pool // *[]byte of messageSize, for payloads stamped with the send time

	latency *recorder
	delay   *recorder

	sent      atomic.Int64 // acknowledged
	errors    atomic.Int64
	sentBytes atomic.Int64
}

// send runs the open-loop schedule until ctx ends: take the next intended
// time, sleep until it, send, and record publish delay at once and publish
// latency when the ack comes. Sends use produceCtx, which outlives ctx, so
// that stopping the schedule does not fail records already buffered.
func (p *producer) send(ctx, produceCtx context.Context, r *run) {
	pace := newPacer(r.now)
	for i := 0; ; i++ {
		intended := r.limiter.Load().Acquire()
		if !pace.sleepUntil(ctx, intended) {
			return
		}
		sentAt := r.now()
		p.delay.record(sentAt - intended)
		rec := p.record(i, sentAt)
		p.client.Produce(produceCtx, rec, func(rec *kgo.Record, err error) {
			ack := r.now()
			if err != nil {
				p.errors.Add(1)
			} else {
				p.latency.record(ack - sentAt)
				p.sent.Add(1)
				p.sentBytes.Add(int64(len(rec.Value)))
			}
			p.release(rec)
		})
	}
}

func (p *producer) record(i int, sentAt time.Duration) *kgo.Record {
	src := p.payloads[i%len(p.payloads)]
	rec := &kgo.Record{Topic: p.topic, Key: p.keys.key(sentAt)}
	if len(src) < sendTimeBytes {
		rec.Value = src
		rec.Headers = []kgo.RecordHeader{{Key: sendTimeHeader, Value: binary.BigEndian.AppendUint64(nil, uint64(sentAt))}}
		return rec
	}
	buf := p.buffers.Get().(*[]byte)
	value := append((*buf)[:0], src...)
	binary.BigEndian.PutUint64(value, uint64(sentAt))
	rec.Value = value
	return rec
}

// release recycles a stamped payload: franz-go holds no reference to a
// record's value once its promise has run.
func (p *producer) release(rec *kgo.Record) {
	if len(rec.Headers) == 0 && len(rec.Value) >= sendTimeBytes {
		v := rec.Value
		p.buffers.Put(&v)
	}
}

// probe sends one record synchronously, so that consumers can show they
// are ready; it counts as sent but records no latency.
func (p *producer) probe(ctx context.Context) error {
	rec := &kgo.Record{Topic: p.topic, Value: p.payloads[0], Headers: []kgo.RecordHeader{{Key: probeHeader}}}
	if err := p.client.ProduceSync(ctx, rec).FirstErr(); err != nil {
		return fmt.Errorf("probe to %s: %w", p.topic, err)
	}
	p.sent.Add(1)
	p.sentBytes.Add(int64(len(rec.Value)))
	return nil
}

// consumer is one consumer of one subscription of one topic.
type consumer struct {
	client   *kgo.Client
	topic    string
	endToEnd *recorder

	received      atomic.Int64
	receivedBytes atomic.Int64
}

// consume polls until the client is closed or ctx ends. The receive time
// is taken once per poll: records of one fetch arrive together.
func (c *consumer) consume(ctx context.Context, r *run) {
	for {
		fetches := c.client.PollFetches(ctx)
		if fetches.IsClientClosed() || ctx.Err() != nil {
			return
		}
		now := r.now()
		var n, bytes int64
		fetches.EachRecord(func(rec *kgo.Record) {
			n++
			bytes += int64(len(rec.Value))
			if sent, ok := sendTime(rec); ok {
				c.endToEnd.record(now - sent)
			}
		})
		c.received.Add(n)
		c.receivedBytes.Add(bytes)
	}
}

func sendTime(rec *kgo.Record) (time.Duration, bool) {
	for _, h := range rec.Headers {
		switch {
		case h.Key == probeHeader:
			return 0, false
		case h.Key == sendTimeHeader && len(h.Value) == sendTimeBytes:
			return time.Duration(binary.BigEndian.Uint64(h.Value)), true
		}
	}
	if len(rec.Value) < sendTimeBytes {
		return 0, false
	}
	return time.Duration(binary.BigEndian.Uint64(rec.Value)), true
}
