package main

// Real-cluster tests: `gregor cluster --brokers 3`, one OS process per
// broker, driven by franz-go and kcat; a broker is SIGKILLed mid-run.

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// clusterProc is a running `gregor cluster`.
type clusterProc struct {
	cmd       *exec.Cmd
	bootstrap string
	pids      map[int32]int    // broker id → pid
	addrs     map[int32]string // broker id → client address
	dir       string
	done      chan error
}

var memberLine = regexp.MustCompile(`^broker (\d+): pid (\d+), listening (\S+)$`)

// startCluster runs `gregor cluster` and waits for its bootstrap line.
func startCluster(t testing.TB, brokers int, configs ...string) *clusterProc {
	t.Helper()
	dir := t.TempDir()
	if keep := os.Getenv("GREGOR_CLUSTER_KEEP_DIR"); keep != "" {
		var err error
		dir, err = os.MkdirTemp(keep, strconv.Itoa(brokers)+"-brokers-")
		require.NoError(t, err)
	}
	args := []string{"cluster", "--brokers", strconv.Itoa(brokers), "--data-dir", dir, "--log-level", "info"}
	for _, c := range configs {
		args = append(args, "--config", c)
	}
	// GREGOR_CLUSTER_ARGS adds flags, e.g. --cpu-profiles when studying a
	// benchmark (the profiles stay in GREGOR_CLUSTER_KEEP_DIR if set).
	args = append(args, strings.Fields(os.Getenv("GREGOR_CLUSTER_ARGS"))...)
	cmd := exec.Command(gregorBinary(t), args...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	var mu sync.Mutex
	cmd.Stderr = lockedWriter{&mu, &stderr}
	require.NoError(t, cmd.Start())
	c := &clusterProc{cmd: cmd, pids: map[int32]int{}, addrs: map[int32]string{}, dir: dir, done: make(chan error, 1)}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if m := memberLine.FindStringSubmatch(line); m != nil {
				id, _ := strconv.Atoi(m[1])
				pid, _ := strconv.Atoi(m[2])
				c.pids[int32(id)], c.addrs[int32(id)] = pid, m[3]
			}
			if b, ok := strings.CutPrefix(line, "bootstrap: "); ok {
				c.bootstrap = b
				close(ready)
			}
		}
		c.done <- cmd.Wait()
	}()
	select {
	case <-ready:
	case err := <-c.done:
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("gregor cluster exited before serving: %v\n%s", err, stderr.String())
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("gregor cluster did not serve within 60s")
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.done:
		case <-time.After(60 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	return c
}

// kill SIGKILLs one broker process.
func (c *clusterProc) kill(t testing.TB, id int32) {
	t.Helper()
	require.NoError(t, syscall.Kill(c.pids[id], syscall.SIGKILL), "kill broker %d", id)
}

// leaderOf asks the cluster who leads topic/partition.
func leaderOf(ctx context.Context, t *testing.T, adm *kadm.Client, topic string, partition int32) int32 {
	t.Helper()
	md, err := adm.Metadata(ctx, topic)
	require.NoError(t, err)
	p, ok := md.Topics[topic].Partitions[partition]
	require.True(t, ok, "partition %d of %s in metadata", partition, topic)
	return p.Leader
}

// TestClusterFailover: a topic with RF 3 and min.insync.replicas=2 on
// `gregor cluster --brokers 3`; franz-go's idempotent producer writes at
// acks=all while the partition leader's process is SIGKILLed. Every
// acknowledged record must be read back, in order, and the producer must
// keep going after the failover. kcat -L must show the 3 brokers and the
// ISR.
func TestClusterFailover(t *testing.T) {
	const sessionTimeoutMs = 3000
	c := startCluster(t, 3, "min.insync.replicas=2", "default.replication.factor=3",
		"broker.session.timeout.ms="+strconv.Itoa(sessionTimeoutMs), "broker.heartbeat.interval.ms=500")
	ctx := testContext(t, 3*time.Minute)
	adm := kadm.NewClient(newKgo(t, c.bootstrap))
	const topic, partitions = "failover", 3
	resp, err := adm.CreateTopic(ctx, partitions, 3, nil, topic)
	require.NoError(t, err)
	require.NoError(t, resp.Err)
	waitISR(ctx, t, adm, topic, partitions, 3)
	checkKcatMetadata(ctx, t, c.bootstrap, topic)

	cl := newKgo(t, c.bootstrap, kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RecordRetries(1<<30),
		kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	victim := leaderOf(ctx, t, adm, topic, 0)
	var acked [partitions][]string
	var mu sync.Mutex
	produce := func(from, to int) {
		var wg sync.WaitGroup
		for i := from; i < to; i++ {
			r := &kgo.Record{Partition: int32(i % partitions), Value: []byte(fmt.Sprintf("r%06d", i))}
			wg.Add(1)
			cl.Produce(ctx, r, func(r *kgo.Record, err error) {
				defer wg.Done()
				if err == nil {
					mu.Lock()
					acked[r.Partition] = append(acked[r.Partition], string(r.Value))
					mu.Unlock()
				}
			})
		}
		wg.Wait()
	}
	produce(0, 3000)
	killedAt := time.Now()
	c.kill(t, victim)
	failover := probeProduce(ctx, t, cl, 0)
	t.Logf("leader %d SIGKILLed; first acks=all produce to its partition acknowledged after %v (session timeout %d ms)",
		victim, failover.Round(time.Millisecond), sessionTimeoutMs)
	require.Less(t, time.Since(killedAt), 3*sessionTimeoutMs*time.Millisecond+30*time.Second, "the producer continues after failover")
	produce(3000, 6000)
	require.NotEqual(t, victim, leaderOf(ctx, t, adm, topic, 0), "leadership moved off the killed broker")

	got := consumeAll(ctx, t, c.bootstrap, topic, partitions)
	total := 0
	for p := range partitions {
		total += len(acked[p])
		requireSubsequence(t, got[p], acked[p], p)
	}
	require.Greater(t, total, 5000, "most records acknowledged")
	t.Logf("%d acknowledged records, all read back in order after the failover", total)
}

// probeProduce produces one record to partition until it is acknowledged
// and returns how long that took.
func probeProduce(ctx context.Context, t *testing.T, cl *kgo.Client, partition int32) time.Duration {
	t.Helper()
	began := time.Now()
	r := &kgo.Record{Partition: partition, Value: []byte("probe")}
	require.NoError(t, cl.ProduceSync(ctx, r).FirstErr())
	return time.Since(began)
}

// waitISR waits until every partition has an ISR of size n.
func waitISR(ctx context.Context, t testing.TB, adm *kadm.Client, topic string, partitions, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		md, err := adm.Metadata(ctx, topic)
		if err != nil || len(md.Topics[topic].Partitions) != partitions {
			return false
		}
		for _, p := range md.Topics[topic].Partitions {
			if len(p.ISR) != n || p.Leader < 0 {
				return false
			}
		}
		return true
	}, 30*time.Second, 50*time.Millisecond, "ISR of %d on every partition", n)
}

// checkKcatMetadata runs kcat -L and checks it lists 3 brokers and the
// ISR of every partition.
func checkKcatMetadata(ctx context.Context, t *testing.T, bootstrap, topic string) {
	t.Helper()
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Logf("skipping the kcat -L check: kcat not installed (scripts/install-deps installs it)")
		return
	}
	out, err := exec.CommandContext(ctx, kcat, "-L", "-b", bootstrap, "-t", topic).CombinedOutput()
	require.NoError(t, err, "%s", out)
	text := string(out)
	require.Contains(t, text, " 3 brokers:", text)
	require.Regexp(t, `partition 0, leader \d, replicas: \d,\d,\d, isrs: \d,\d,\d`, text)
	t.Logf("kcat -L:\n%s", text)
}

// consumeAll reads every record of topic from the start.
func consumeAll(ctx context.Context, t *testing.T, bootstrap, topic string, partitions int) [][]string {
	t.Helper()
	adm := kadm.NewClient(newKgo(t, bootstrap))
	ends, err := adm.ListEndOffsets(ctx, topic)
	require.NoError(t, err)
	want := int64(0)
	ends.Each(func(o kadm.ListedOffset) { want += o.Offset })
	cl := newKgo(t, bootstrap, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got := make([][]string, partitions)
	n := int64(0)
	for n < want {
		fs := cl.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "read %d of %d records", n, want)
		fs.EachError(func(topic string, p int32, err error) { t.Logf("fetch %s/%d: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			got[r.Partition] = append(got[r.Partition], string(r.Value))
			n++
		})
	}
	return got
}

// requireSubsequence checks that every acknowledged value is in the log,
// in acknowledgement order per partition (the log may hold more: records
// whose acknowledgement was lost, and probes).
func requireSubsequence(t *testing.T, log, acked []string, partition int) {
	t.Helper()
	at := map[string]int{}
	for i, v := range log {
		_, dup := at[v]
		require.False(t, dup, "partition %d: %s written twice (idempotence)", partition, v)
		at[v] = i
	}
	last := -1
	for _, v := range acked {
		i, ok := at[v]
		require.True(t, ok, "partition %d: acknowledged record %s lost", partition, v)
		require.Greater(t, i, last, "partition %d: %s out of order", partition, v)
		last = i
	}
}
