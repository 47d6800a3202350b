package main

// Real-cluster tests of partition reassignment (KIP-455:
// AlterPartitionReassignments, ListPartitionReassignments) and leader
// elections (KIP-460: ElectLeaders) on `gregor cluster --brokers 4`,
// driven by franz-go's kadm and kgo, checked against Kafka's semantics
// (the KRaft controller's ReplicationControlManager).

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestReassign, on 4 brokers:
//
//   - move: a partition of an RF 2 topic moves to the two brokers that
//     held no replica of it while an idempotent acks=all producer writes
//     to it; ListPartitionReassignments shows it in progress (or done),
//     then the new replicas alone hold it, with every record, in order.
//   - errors: a broker that is not registered, a repeated broker or an
//     empty list → INVALID_REPLICA_ASSIGNMENT; an unknown topic or
//     partition → UNKNOWN_TOPIC_OR_PARTITION; cancelling with nothing in
//     progress → NO_REASSIGNMENT_IN_PROGRESS; listing an unknown topic
//     lists nothing.
//   - elect: the preferred replica of a partition is stopped (controlled
//     shutdown), so another replica leads; preferred election fails with
//     PREFERRED_LEADER_NOT_AVAILABLE while it is down; a reassignment
//     adding the stopped broker stays in progress and is cancelled, which
//     restores the original replicas; the broker restarts, rejoins the
//     ISR, and a preferred election makes it lead again; a second one is
//     ELECTION_NOT_NEEDED, as is an unclean election of a partition with
//     a leader; unknown partitions are UNKNOWN_TOPIC_OR_PARTITION; an
//     election of every partition leaves each led by its first replica.
func TestReassign(t *testing.T) {
	began := time.Now()
	c := startCluster(t, 4, "broker.session.timeout.ms=3000", "broker.heartbeat.interval.ms=500")
	ctx := testContext(t, 2*time.Minute)
	kcl := freshKgo(t, c.bootstrap)
	adm := kadm.NewClient(kcl)
	t.Logf("cluster of 4 serving after %v", time.Since(began).Round(time.Millisecond))

	const moved = "moved"
	created, err := adm.CreateTopic(ctx, 3, 2, nil, moved)
	require.NoError(t, err)
	require.NoError(t, created.Err)
	waitISR(ctx, t, adm, moved, 3, 2)

	t.Run("move", func(t *testing.T) { testReassignMove(ctx, t, c, adm, moved) })
	t.Run("errors", func(t *testing.T) { testReassignErrors(ctx, t, adm, moved) })
	t.Run("elect", func(t *testing.T) { testReassignElect(ctx, t, c, kcl, adm) })
	t.Logf("TestReassign took %v", time.Since(began).Round(time.Millisecond))
}

func testReassignMove(ctx context.Context, t *testing.T, c *clusterProc, adm *kadm.Client, topic string) {
	const partition, before, during = 0, 3000, 2000
	old := partitionOf(ctx, t, adm, topic, partition).Replicas
	require.Len(t, old, 2)
	var target []int32
	for id := int32(1); id <= 4; id++ {
		if !slices.Contains(old, id) {
			target = append(target, id)
		}
	}
	cl := freshKgo(t, c.bootstrap, kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RecordRetries(1<<30),
		kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	var want []string
	produce := func(from, to int) <-chan error {
		errc := make(chan error, to-from)
		for i := from; i < to; i++ {
			v := fmt.Sprintf("m%06d", i)
			want = append(want, v)
			cl.Produce(ctx, &kgo.Record{Partition: partition, Value: []byte(v)}, func(_ *kgo.Record, err error) { errc <- err })
		}
		return errc
	}
	awaitAcks := func(errc <-chan error, n int) {
		for range n {
			select {
			case err := <-errc:
				require.NoError(t, err, "acks=all produce")
			case <-ctx.Done():
				t.Fatalf("produce: %v", ctx.Err())
			}
		}
	}
	awaitAcks(produce(0, before), before)

	var req kadm.AlterPartitionAssignmentsReq
	req.Assign(topic, partition, target)
	resp, err := adm.AlterPartitionAssignments(ctx, req)
	require.NoError(t, err)
	require.NoError(t, reassignErr(t, resp, topic, partition))
	// Records written while the replicas move, and across the leader
	// change that completes the move.
	duringAcks := produce(before, before+during)

	listed, err := adm.ListPartitionReassignments(ctx, kadm.TopicsSet{topic: {partition: {}}})
	require.NoError(t, err)
	if r, ok := listed[topic][partition]; ok {
		t.Logf("in progress: replicas %v, adding %v, removing %v", r.Replicas, r.AddingReplicas, r.RemovingReplicas)
		require.Equal(t, append(slices.Clone(target), old...), r.Replicas, "the target replicas, then the ones being removed")
		require.ElementsMatch(t, target, r.AddingReplicas, "adding replicas stay listed until the reassignment completes")
		require.ElementsMatch(t, old, r.RemovingReplicas)
	} else {
		t.Logf("the reassignment completed before it was listed")
	}
	p := waitReassigned(ctx, t, adm, topic, partition, target)
	require.Equal(t, target[0], p.Leader, "the old leader is removed, and the first target replica in the ISR leads")
	awaitAcks(duringAcks, during)
	t.Logf("%v → %v with %d records", old, target, len(want))

	requireSameLog(t, want, consumePartition(ctx, t, c.bootstrap, topic, partition, len(want)))
	// The removed replicas delete their logs; the new ones have them.
	dir := func(id int32) string {
		return filepath.Join(c.dir, "broker-"+strconv.Itoa(int(id)), "logs", topic+"-"+strconv.Itoa(partition))
	}
	for _, id := range target {
		require.DirExists(t, dir(id))
	}
	waitFor(ctx, t, 30*time.Second, func() (bool, string) {
		for _, id := range old {
			if _, err := os.Stat(dir(id)); !errors.Is(err, os.ErrNotExist) {
				return false, dir(id) + " exists"
			}
		}
		return true, ""
	}, "the removed replicas' logs deleted")
}

func testReassignErrors(ctx context.Context, t *testing.T, adm *kadm.Client, topic string) {
	cur := partitionOf(ctx, t, adm, topic, 1).Replicas
	for _, tc := range []struct {
		name      string
		topic     string
		partition int32
		replicas  []int32
		want      error
	}{
		{"unregistered broker", topic, 1, []int32{cur[0], 99}, kerr.InvalidReplicaAssignment},
		{"repeated broker", topic, 1, []int32{cur[0], cur[0]}, kerr.InvalidReplicaAssignment},
		{"empty", topic, 1, []int32{}, kerr.InvalidReplicaAssignment},
		{"unknown topic", "nope", 0, []int32{1, 2}, kerr.UnknownTopicOrPartition},
		{"unknown partition", topic, 99, []int32{1, 2}, kerr.UnknownTopicOrPartition},
		{"cancel with nothing in progress", topic, 1, nil, kerr.NoReassignmentInProgress},
	} {
		var req kadm.AlterPartitionAssignmentsReq
		req.Assign(tc.topic, tc.partition, tc.replicas)
		resp, err := adm.AlterPartitionAssignments(ctx, req)
		require.NoError(t, err, tc.name)
		err = reassignErr(t, resp, tc.topic, tc.partition)
		require.ErrorIs(t, err, tc.want, tc.name)
		t.Logf("%s: %v", tc.name, err)
	}
	require.Equal(t, cur, partitionOf(ctx, t, adm, topic, 1).Replicas, "refused reassignments change nothing")
	listed, err := adm.ListPartitionReassignments(ctx, kadm.TopicsSet{"nope": {0: {}}, topic: {1: {}, 99: {}}})
	require.NoError(t, err)
	require.Empty(t, listed, "unknown partitions and those not moving are not listed")
}

func testReassignElect(ctx context.Context, t *testing.T, c *clusterProc, kcl *kgo.Client, adm *kadm.Client) {
	md, err := adm.BrokerMetadata(ctx)
	require.NoError(t, err)
	ctl := md.Controller
	// The broker to stop is not the active controller, so the test does
	// not wait for a controller failover; the others are y[0], y[1], y[2].
	var x int32
	var y []int32
	for id := int32(1); id <= 4; id++ {
		if x == 0 && id != ctl {
			x = id
		} else {
			y = append(y, id)
		}
	}
	const elect, cancel = "elect", "cancel"
	createAssigned(ctx, t, kcl, adm, elect, [][]int32{{x, y[0]}, {y[1], y[2]}})
	createAssigned(ctx, t, kcl, adm, cancel, [][]int32{{y[0], y[1]}})
	waitISR(ctx, t, adm, elect, 2, 2)
	waitISR(ctx, t, adm, cancel, 1, 2)
	require.Equal(t, x, leaderOf(ctx, t, adm, elect, 0))

	cl := freshKgo(t, c.bootstrap, kgo.RequiredAcks(kgo.AllISRAcks()), kgo.DefaultProduceTopic(elect),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	var want []string
	produceSync := func(n int) {
		var rs []*kgo.Record
		for range n {
			v := fmt.Sprintf("e%06d", len(want))
			want = append(want, v)
			rs = append(rs, &kgo.Record{Partition: 0, Value: []byte(v)})
		}
		require.NoError(t, cl.ProduceSync(ctx, rs...).FirstErr())
	}
	produceSync(500)

	restart := c.stopBroker(ctx, t, x)
	waitFor(ctx, t, 30*time.Second, func() (bool, string) {
		p, err := partitionOfErr(ctx, adm, elect, 0)
		if err != nil {
			return false, err.Error()
		}
		return p.Leader == y[0] && !slices.Contains(p.ISR, x), fmt.Sprintf("%s-0: leader %d, ISR %v", elect, p.Leader, p.ISR)
	}, "leadership of %s-0 moves from stopped broker %d to %d", elect, x, y[0])
	produceSync(500) // leader y[0], ISR {y[0]}

	res := electLeaders(ctx, t, adm, kadm.ElectPreferredReplica, elect, 0)
	require.ErrorIs(t, res.Err, kerr.PreferredLeaderNotAvailable, "preferred replica %d is down: %s", x, res.ErrMessage)

	// A reassignment onto the stopped broker cannot complete: it stays
	// listed until cancelled, and cancelling restores the replicas.
	var req kadm.AlterPartitionAssignmentsReq
	req.Assign(cancel, 0, []int32{y[0], x})
	resp, err := adm.AlterPartitionAssignments(ctx, req)
	require.NoError(t, err)
	require.NoError(t, reassignErr(t, resp, cancel, 0))
	listed, err := adm.ListPartitionReassignments(ctx, kadm.TopicsSet{cancel: {0: {}}})
	require.NoError(t, err)
	r, ok := listed[cancel][0]
	require.True(t, ok, "the reassignment onto stopped broker %d is in progress", x)
	require.Equal(t, []int32{y[0], x, y[1]}, r.Replicas)
	require.Equal(t, []int32{x}, r.AddingReplicas)
	require.Equal(t, []int32{y[1]}, r.RemovingReplicas)
	listedAll := listAllReassignments(ctx, t, kcl)
	require.Contains(t, listedAll, cancel+"-0", "listing every partition")
	require.Len(t, listedAll, 1)

	req = nil
	req.CancelAssign(cancel, 0)
	resp, err = adm.AlterPartitionAssignments(ctx, req)
	require.NoError(t, err)
	require.NoError(t, reassignErr(t, resp, cancel, 0))
	listed, err = adm.ListPartitionReassignments(ctx, kadm.TopicsSet{cancel: {0: {}}})
	require.NoError(t, err)
	require.Empty(t, listed, "cancelled")
	waitFor(ctx, t, 30*time.Second, func() (bool, string) {
		p, err := partitionOfErr(ctx, adm, cancel, 0)
		if err != nil {
			return false, err.Error()
		}
		return slices.Equal(p.Replicas, []int32{y[0], y[1]}) && sameSet(p.ISR, p.Replicas) && p.Leader == y[0],
			fmt.Sprintf("replicas %v, ISR %v, leader %d", p.Replicas, p.ISR, p.Leader)
	}, "%s-0 back on its original replicas", cancel)
	resp, err = adm.AlterPartitionAssignments(ctx, req)
	require.NoError(t, err)
	require.ErrorIs(t, reassignErr(t, resp, cancel, 0), kerr.NoReassignmentInProgress, "cancelling twice")

	restart()
	waitFor(ctx, t, 30*time.Second, func() (bool, string) {
		p, err := partitionOfErr(ctx, adm, elect, 0)
		if err != nil {
			return false, err.Error()
		}
		return slices.Contains(p.ISR, x), fmt.Sprintf("%s-0: leader %d, ISR %v", elect, p.Leader, p.ISR)
	}, "restarted broker %d back in the ISR of %s-0", x, elect)
	require.Equal(t, y[0], leaderOf(ctx, t, adm, elect, 0), "no automatic preferred election")

	res = electLeaders(ctx, t, adm, kadm.ElectPreferredReplica, elect, 0)
	require.NoError(t, res.Err, "preferred election: %s", res.ErrMessage)
	waitFor(ctx, t, 30*time.Second, func() (bool, string) {
		p, err := partitionOfErr(ctx, adm, elect, 0)
		if err != nil {
			return false, err.Error()
		}
		return p.Leader == x, fmt.Sprintf("leader %d, replicas %v, ISR %v", p.Leader, p.Replicas, p.ISR)
	}, "the preferred replica %d leads %s-0", x, elect)

	res = electLeaders(ctx, t, adm, kadm.ElectPreferredReplica, elect, 0)
	require.ErrorIs(t, res.Err, kerr.ElectionNotNeeded, "preferred election again")
	res = electLeaders(ctx, t, adm, kadm.ElectLiveReplica, elect, 0)
	require.ErrorIs(t, res.Err, kerr.ElectionNotNeeded, "unclean election of a partition with a leader")
	res = electLeaders(ctx, t, adm, kadm.ElectPreferredReplica, elect, 7)
	require.ErrorIs(t, res.Err, kerr.UnknownTopicOrPartition, "unknown partition")
	res = electLeaders(ctx, t, adm, kadm.ElectPreferredReplica, "nope", 0)
	require.ErrorIs(t, res.Err, kerr.UnknownTopicOrPartition, "unknown topic")

	produceSync(500) // leader x again
	requireSameLog(t, want, consumePartition(ctx, t, c.bootstrap, elect, 0, len(want)))

	// Preferred election of every partition: once every ISR is whole,
	// each partition ends up led by its first replica, and the ones that
	// needed no election are left out of the answer (as in Kafka).
	for _, topic := range []string{"moved", elect, cancel} {
		md, err := adm.Metadata(ctx, topic)
		require.NoError(t, err)
		waitISR(ctx, t, adm, topic, len(md.Topics[topic].Partitions), 2)
	}
	results, err := adm.ElectLeaders(ctx, kadm.ElectPreferredReplica, nil)
	require.NoError(t, err)
	for _, topic := range []string{"moved", elect, cancel} {
		require.Contains(t, results, topic, "every topic is in the answer, with the partitions that needed an election")
	}
	require.NotContains(t, results[elect], int32(0), "%s-0 needed no election", elect)
	for topic, ps := range results {
		for p, r := range ps {
			require.NoError(t, r.Err, "%s-%d: %s", topic, p, r.ErrMessage)
			t.Logf("elect all: %s-%d elected", topic, p)
		}
	}
	waitFor(ctx, t, 30*time.Second, func() (bool, string) {
		md, err := adm.Metadata(ctx)
		if err != nil {
			return false, err.Error()
		}
		for _, td := range md.Topics {
			for _, p := range td.Partitions {
				if p.Leader != p.Replicas[0] {
					return false, fmt.Sprintf("%s-%d: leader %d, replicas %v", td.Topic, p.Partition, p.Leader, p.Replicas)
				}
			}
		}
		return true, ""
	}, "every partition led by its preferred replica")
}

// ---- helpers ----

// freshKgo is newKgo with metadata at most 50 ms old: kadm's Metadata
// answers from kgo's cache, which is refreshed only after MetadataMinAge
// (5 s by default), and so does kgo's reaction to a leader change.
func freshKgo(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	return newKgo(t, addr, append([]kgo.Opt{kgo.MetadataMinAge(50 * time.Millisecond)}, opts...)...)
}

// reassignErr is the answer for one partition of an
// AlterPartitionAssignments response.
func reassignErr(t *testing.T, resp kadm.AlterPartitionAssignmentsResponses, topic string, partition int32) error {
	t.Helper()
	r, ok := resp[topic][partition]
	require.True(t, ok, "an answer for %s-%d", topic, partition)
	if r.Err != nil && r.ErrMessage != "" {
		return fmt.Errorf("%w: %s", r.Err, r.ErrMessage)
	}
	return r.Err
}

// electLeaders elects one partition's leader and returns its answer.
func electLeaders(ctx context.Context, t *testing.T, adm *kadm.Client, how kadm.ElectLeadersHow, topic string, partition int32) kadm.ElectLeadersResult {
	t.Helper()
	res, err := adm.ElectLeaders(ctx, how, kadm.TopicsSet{topic: {partition: {}}})
	require.NoError(t, err)
	r, ok := res[topic][partition]
	require.True(t, ok, "an answer for %s-%d", topic, partition)
	require.Equal(t, how, r.How, "the election type was sent (ElectLeaders v1+)")
	return r
}

// listAllReassignments lists every reassignment in progress (a request
// with null topics, which kadm does not send), as topic-partition names.
func listAllReassignments(ctx context.Context, t *testing.T, cl *kgo.Client) []string {
	t.Helper()
	req := kmsg.NewPtrListPartitionReassignmentsRequest()
	req.TimeoutMillis = 15000
	resp, err := req.RequestWith(ctx, cl)
	require.NoError(t, err)
	require.NoError(t, kerr.ErrorForCode(resp.ErrorCode))
	var out []string
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			out = append(out, rt.Topic+"-"+strconv.Itoa(int(rp.Partition)))
		}
	}
	return out
}

// createAssigned creates a topic with the given replicas per partition
// (CreateTopics with a manual assignment), the first replica leading.
func createAssigned(ctx context.Context, t *testing.T, cl *kgo.Client, adm *kadm.Client, topic string, assignment [][]int32) {
	t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 15000
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, -1, -1
	for i, rs := range assignment {
		ra := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
		ra.Partition, ra.Replicas = int32(i), rs
		rt.ReplicaAssignment = append(rt.ReplicaAssignment, ra)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	require.NoError(t, err)
	require.Len(t, resp.Topics, 1)
	require.NoError(t, kerr.ErrorForCode(resp.Topics[0].ErrorCode), "create %s", topic)
	waitFor(ctx, t, 30*time.Second, func() (bool, string) {
		md, err := adm.Metadata(ctx, topic)
		if err != nil {
			return false, err.Error()
		}
		ps := md.Topics[topic].Partitions
		if len(ps) != len(assignment) {
			return false, fmt.Sprintf("%d partitions", len(ps))
		}
		for i, rs := range assignment {
			if p := ps[int32(i)]; !slices.Equal(p.Replicas, rs) {
				return false, fmt.Sprintf("partition %d on %v", i, p.Replicas)
			}
		}
		return true, ""
	}, "%s created on %v", topic, assignment)
}

// waitReassigned waits until no reassignment of the partition is listed
// and the metadata shows it on exactly the target replicas, in order,
// with its ISR among them and a leader from it.
func waitReassigned(ctx context.Context, t *testing.T, adm *kadm.Client, topic string, partition int32, target []int32) kadm.PartitionDetail {
	t.Helper()
	var last kadm.PartitionDetail
	waitFor(ctx, t, 30*time.Second, func() (bool, string) {
		listed, err := adm.ListPartitionReassignments(ctx, kadm.TopicsSet{topic: {partition: {}}})
		if err != nil {
			return false, err.Error()
		}
		if r, ok := listed[topic][partition]; ok {
			return false, fmt.Sprintf("in progress: replicas %v, adding %v, removing %v", r.Replicas, r.AddingReplicas, r.RemovingReplicas)
		}
		p, err := partitionOfErr(ctx, adm, topic, partition)
		if err != nil {
			return false, err.Error()
		}
		last = p
		done := slices.Equal(p.Replicas, target) && len(p.ISR) > 0 && isSubset(p.ISR, target) && slices.Contains(target, p.Leader)
		return done, fmt.Sprintf("listed as done; metadata: replicas %v, ISR %v, leader %d", p.Replicas, p.ISR, p.Leader)
	}, "%s-%d reassigned to %v", topic, partition, target)
	return last
}

func partitionOf(ctx context.Context, t *testing.T, adm *kadm.Client, topic string, partition int32) kadm.PartitionDetail {
	t.Helper()
	p, err := partitionOfErr(ctx, adm, topic, partition)
	require.NoError(t, err)
	return p
}

func partitionOfErr(ctx context.Context, adm *kadm.Client, topic string, partition int32) (kadm.PartitionDetail, error) {
	md, err := adm.Metadata(ctx, topic)
	if err != nil {
		return kadm.PartitionDetail{}, err
	}
	td, ok := md.Topics[topic]
	if !ok || td.Err != nil {
		return kadm.PartitionDetail{}, fmt.Errorf("topic %s: %v", topic, td.Err)
	}
	p, ok := td.Partitions[partition]
	if !ok {
		return kadm.PartitionDetail{}, fmt.Errorf("no partition %s-%d in the metadata", topic, partition)
	}
	return p, p.Err
}

// waitFor polls cond until it holds, failing after d with its last
// description.
func waitFor(ctx context.Context, t *testing.T, d time.Duration, cond func() (bool, string), format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("waited %v for %s; last: %s", d, fmt.Sprintf(format, args...), last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// consumePartition waits until the partition's end offset (its high
// watermark) is n, then reads it from its start. A new leader learns the
// high watermark from its followers' fetches, so just after a leader
// change the end offset can be behind what the previous leader
// acknowledged (Kafka answers OFFSET_NOT_AVAILABLE then); either way it
// gets there.
func consumePartition(ctx context.Context, t *testing.T, bootstrap, topic string, partition int32, n int) []string {
	t.Helper()
	adm := kadm.NewClient(freshKgo(t, bootstrap))
	waitFor(ctx, t, 30*time.Second, func() (bool, string) {
		ends, err := adm.ListEndOffsets(ctx, topic)
		if err != nil {
			return false, err.Error()
		}
		end, ok := ends.Lookup(topic, partition)
		if !ok {
			return false, "no answer"
		}
		if end.Err != nil {
			return false, end.Err.Error()
		}
		return end.Offset == int64(n), fmt.Sprintf("end offset %d", end.Offset)
	}, "%s-%d's end offset at %d, the records acknowledged", topic, partition, n)
	cl := freshKgo(t, bootstrap, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{
		topic: {partition: kgo.NewOffset().AtStart()},
	}))
	var got []string
	for len(got) < n {
		fs := cl.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "read %d of %d records", len(got), n)
		fs.EachError(func(topic string, p int32, err error) { t.Logf("fetch %s-%d: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	return got
}

// requireSameLog checks got is want, reporting the first difference.
func requireSameLog(t *testing.T, want, got []string) {
	t.Helper()
	for i := range min(len(want), len(got)) {
		if want[i] != got[i] {
			t.Fatalf("record %d is %s, want %s (%d records read, %d written)", i, got[i], want[i], len(got), len(want))
		}
	}
	require.Equal(t, len(want), len(got), "every acknowledged record, once, in order")
}

func isSubset(sub, of []int32) bool {
	for _, id := range sub {
		if !slices.Contains(of, id) {
			return false
		}
	}
	return true
}

func sameSet(a, b []int32) bool {
	return len(a) == len(b) && isSubset(a, b) && isSubset(b, a)
}

// stopBroker stops broker id gracefully (SIGTERM: a controlled shutdown
// moves its leaderships and takes it out of the ISRs) and returns a
// function that starts it again with the same command line, as a process
// of the test rather than of the `gregor cluster` supervisor (which does
// not restart brokers). The command line comes from /proc, so this
// skips the test where there is none.
func (c *clusterProc) stopBroker(ctx context.Context, t *testing.T, id int32) (restart func()) {
	t.Helper()
	pid := c.pids[id]
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		t.Skipf("cannot read broker %d's command line to restart it: %v", id, err)
	}
	args := strings.Split(strings.TrimSuffix(string(raw), "\x00"), "\x00")
	require.Equal(t, "broker", args[1], "broker %d's command line: %q", id, args)
	stopped := time.Now()
	require.NoError(t, syscall.Kill(pid, syscall.SIGTERM))
	waitFor(ctx, t, 30*time.Second, func() (bool, string) {
		return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH), "still running"
	}, "broker %d (pid %d) to exit after SIGTERM", id, pid)
	t.Logf("broker %d stopped in %v", id, time.Since(stopped).Round(time.Millisecond))
	return func() {
		t.Helper()
		began := time.Now()
		logFile, err := os.Create(filepath.Join(c.dir, "broker-"+strconv.Itoa(int(id))+".restarted.log"))
		require.NoError(t, err)
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Stderr = logFile
		cmd.SysProcAttr = memberProcAttr()
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		done := make(chan error, 1)
		listening := make(chan string, 1)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				if a, ok := strings.CutPrefix(sc.Text(), "listening: "); ok {
					listening <- a
				}
			}
			done <- cmd.Wait()
			logFile.Close()
		}()
		t.Cleanup(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				<-done
			}
		})
		select {
		case a := <-listening:
			require.Equal(t, c.addrs[id], a, "restarted broker %d listens where it did", id)
		case err := <-done:
			t.Fatalf("restarted broker %d exited: %v (see %s)", id, err, logFile.Name())
		case <-ctx.Done():
			t.Fatalf("restarted broker %d did not listen: %v", id, ctx.Err())
		}
		t.Logf("broker %d restarted, serving after %v", id, time.Since(began).Round(time.Millisecond))
	}
}
