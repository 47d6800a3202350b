package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestInteropKgoCodecs: franz-go's idempotent producer writes 100k
// records across 8 partitions with each of the four codecs; a consumer
// reads every record back byte-identical and in order per partition.
func TestInteropKgoCodecs(t *testing.T) {
	const partitions = 8
	recordsPerCodec := 100_000
	if testing.Short() {
		recordsPerCodec = 10_000
	}
	b := startBroker(t, "")
	ctx := testContext(t, 5*time.Minute)
	adm := kadm.NewClient(newKgo(t, b.addr))
	codecs := []struct {
		name  string
		codec kgo.CompressionCodec
	}{
		{"gzip", kgo.GzipCompression()},
		{"snappy", kgo.SnappyCompression()},
		{"lz4", kgo.Lz4Compression()},
		{"zstd", kgo.ZstdCompression()},
	}
	for _, c := range codecs {
		t.Run(c.name, func(t *testing.T) {
			topic := "kgo-" + c.name
			_, err := adm.CreateTopic(ctx, partitions, 1, nil, topic)
			require.NoError(t, err)
			want := produceKgo(ctx, t, b.addr, topic, partitions, recordsPerCodec, c.codec)
			got := consumeKgo(ctx, t, b.addr, topic, recordsPerCodec)
			for p := range int32(partitions) {
				require.Equal(t, len(want[p]), len(got[p]), "partition %d record count", p)
				for i := range want[p] {
					if !bytes.Equal(want[p][i], got[p][i]) {
						t.Fatalf("partition %d record %d: got %q, want %q", p, i, got[p][i], want[p][i])
					}
				}
			}
			t.Logf("%s: %d records produced and read back in order across %d partitions", c.name, recordsPerCodec, partitions)
		})
	}
}

func newKgo(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(strings.Split(addr, ",")...)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	return cl
}

// produceKgo writes n records round-robin over the partitions with an
// idempotent producer (kgo's default) and returns the values per
// partition in send order.
func produceKgo(ctx context.Context, t *testing.T, addr, topic string, partitions, n int, codec kgo.CompressionCodec) map[int32][][]byte {
	cl := newKgo(t, addr,
		kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchCompression(codec),
		kgo.ProducerLinger(2*time.Millisecond),
	)
	want := map[int32][][]byte{}
	errc := make(chan error, 1)
	for i := range n {
		p := int32(i % partitions)
		v := recordValue(topic, p, i)
		want[p] = append(want[p], v)
		r := &kgo.Record{Partition: p, Key: []byte(fmt.Sprint(i)), Value: v}
		cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
			if err != nil {
				select {
				case errc <- err:
				default:
				}
			}
		})
	}
	require.NoError(t, cl.Flush(ctx))
	select {
	case err := <-errc:
		t.Fatalf("produce: %v", err)
	default:
	}
	return want
}

// recordValue is compressible but distinct per record, so a codec bug or a
// reordering shows.
func recordValue(topic string, p int32, i int) []byte {
	return fmt.Appendf(nil, "%s/%d/%08d/%s", topic, p, i, bytes.Repeat([]byte{byte('a' + i%26)}, 40+i%60))
}

// consumeKgo reads n records from the start of the topic and returns the
// values per partition in offset order.
func consumeKgo(ctx context.Context, t *testing.T, addr, topic string, n int) map[int32][][]byte {
	cl := newKgo(t, addr, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got := map[int32][][]byte{}
	next := map[int32]int64{}
	seen := 0
	for seen < n {
		fs := cl.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "consumed %d of %d", seen, n)
		fs.EachError(func(topic string, p int32, err error) {
			t.Fatalf("fetch %s/%d: %v", topic, p, err)
		})
		fs.EachRecord(func(r *kgo.Record) {
			require.Equal(t, next[r.Partition], r.Offset, "partition %d offsets are dense and in order", r.Partition)
			next[r.Partition] = r.Offset + 1
			got[r.Partition] = append(got[r.Partition], r.Value)
			seen++
		})
	}
	return got
}
