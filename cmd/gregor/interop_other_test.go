package main

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestInteropSarama: sarama's sync producer (idempotent, acks=all) and
// its partition consumer, at sarama's default protocol version.
func TestInteropSarama(t *testing.T) {
	const n = 2000
	b := startBroker(t, "")
	cfg := sarama.NewConfig()
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Idempotent = true
	cfg.Net.MaxOpenRequests = 1
	cfg.Producer.Compression = sarama.CompressionSnappy
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	client, err := sarama.NewClient([]string{b.addr}, cfg)
	require.NoError(t, err)
	defer client.Close()

	admin, err := sarama.NewClusterAdminFromClient(client)
	require.NoError(t, err)
	require.NoError(t, admin.CreateTopic("sarama", &sarama.TopicDetail{NumPartitions: 2, ReplicationFactor: 1}, false))

	prod, err := sarama.NewSyncProducerFromClient(client)
	require.NoError(t, err)
	defer prod.Close()
	for i := range n {
		p, off, err := prod.SendMessage(&sarama.ProducerMessage{Topic: "sarama", Partition: -1, Key: sarama.StringEncoder(fmt.Sprint(i)), Value: sarama.StringEncoder(fmt.Sprintf("v%05d", i))})
		require.NoError(t, err)
		require.GreaterOrEqual(t, off, int64(0), "partition %d", p)
	}

	cons, err := sarama.NewConsumerFromClient(client)
	require.NoError(t, err)
	defer cons.Close()
	got := 0
	for _, p := range []int32{0, 1} {
		hw, err := client.GetOffset("sarama", p, sarama.OffsetNewest)
		require.NoError(t, err)
		pc, err := cons.ConsumePartition("sarama", p, sarama.OffsetOldest)
		require.NoError(t, err)
		for want := int64(0); want < hw; want++ {
			select {
			case m := <-pc.Messages():
				require.Equal(t, want, m.Offset)
				require.True(t, strings.HasPrefix(string(m.Value), "v"))
				got++
			case err := <-pc.Errors():
				t.Fatalf("consume: %v", err)
			case <-time.After(30 * time.Second):
				t.Fatalf("partition %d: stuck at offset %d of %d", p, want, hw)
			}
		}
		require.NoError(t, pc.Close())
	}
	require.Equal(t, n, got)
}

// TestInteropKcat: librdkafka, through the kcat CLI, produces 10k
// messages and consumes them back. kcat comes from Debian's packages
// (scripts/install-deps); without it the test says so and skips.
func TestInteropKcat(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("skipped: kcat is not installed (scripts/install-deps installs it from Debian's packages)")
	}
	const n = 10_000
	b := startBroker(t, "")
	ctx := testContext(t, 2*time.Minute)
	_, err = kadm.NewClient(newKgo(t, b.addr)).CreateTopic(ctx, 3, 1, nil, "kcat")
	require.NoError(t, err)

	var in bytes.Buffer
	for i := range n {
		fmt.Fprintf(&in, "message-%05d\n", i)
	}
	prod := exec.CommandContext(ctx, kcat, "-P", "-b", b.addr, "-t", "kcat", "-z", "lz4", "-X", "enable.idempotence=true")
	prod.Stdin = &in
	out, err := prod.CombinedOutput()
	require.NoError(t, err, "kcat -P: %s", out)

	cons := exec.CommandContext(ctx, kcat, "-C", "-b", b.addr, "-t", "kcat", "-o", "beginning", "-e", "-q", "-f", "%p %o %s\n")
	out, err = cons.Output()
	require.NoError(t, err, "kcat -C")
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	require.Len(t, lines, n)
	seen := map[string]bool{}
	next := map[string]int{}
	for _, l := range lines {
		f := strings.Fields(l)
		require.Len(t, f, 3, l)
		require.Equal(t, fmt.Sprint(next[f[0]]), f[1], "partition %s offsets in order", f[0])
		next[f[0]]++
		seen[f[2]] = true
	}
	require.Len(t, seen, n, "every message exactly once")

	meta, err := exec.CommandContext(ctx, kcat, "-L", "-b", b.addr, "-t", "kcat").CombinedOutput()
	require.NoError(t, err, "kcat -L: %s", meta)
	require.Contains(t, string(meta), "3 partitions")
}

// TestBrokerRestartKeepsData: SIGTERM flushes and exits; a broker started
// on the same directory serves every record, with the same topic id.
func TestBrokerRestartKeepsData(t *testing.T) {
	const n = 5000
	b := startBroker(t, "")
	ctx := testContext(t, 2*time.Minute)
	adm := kadm.NewClient(newKgo(t, b.addr))
	created, err := adm.CreateTopic(ctx, 4, 1, nil, "durable")
	require.NoError(t, err)
	want := produceKgo(ctx, t, b.addr, "durable", 4, n, kgo.NoCompression())
	b.stop(t)

	b2 := startBroker(t, b.dir)
	adm2 := kadm.NewClient(newKgo(t, b2.addr))
	td, err := adm2.ListTopics(ctx, "durable")
	require.NoError(t, err)
	require.Equal(t, created.ID, td["durable"].ID, "topic id survives a restart")
	got := consumeKgo(ctx, t, b2.addr, "durable", n)
	require.Equal(t, want, got)

	// The idempotent producer state is rebuilt from the log: a new
	// producer continues and nothing is duplicated.
	more := produceKgo(ctx, t, b2.addr, "durable", 4, 100, kgo.NoCompression())
	end, err := adm2.ListEndOffsets(ctx, "durable")
	require.NoError(t, err)
	total := int64(0)
	end.Each(func(o kadm.ListedOffset) { total += o.Offset })
	require.Equal(t, int64(n+100), total)
	_ = more
}
