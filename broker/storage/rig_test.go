package storage

import (
	"bytes"
	"encoding/binary"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregor-dst/gregor/broker/records"
	"github.com/gregor-dst/gregor/env"
	"github.com/gregor-dst/gregor/sim"
)

// ---- the test harness ----
//
// A rig is a simulated world with one node whose process does nothing but
// hold its Env. The test drives the Log directly between runs of the
// simulator, as the node's process would from its callbacks; fsyncs
// complete when the simulator runs. The node's disk is the sim's
// crashable disk, so crash() loses what was not durable.

type holder struct{ e env.Env }

func (p *holder) Start(e env.Env)  { p.e = e }
func (p *holder) Stop(done func()) { done() }

type rig struct {
	t    testing.TB
	s    *sim.Sim
	n    *sim.Node
	cfg  Config
	dir  string
	l    *Log
	logs *bytes.Buffer
	// model holds every batch appended, as stamped, in offset order.
	model []modelBatch
}

type modelBatch struct {
	base, next int64
	data       []byte
}

const testDir = "data/t-0"

func newRig(t testing.TB, seed uint64, cfg Config, disk sim.DiskOptions) *rig {
	t.Helper()
	logs := &bytes.Buffer{}
	opts := sim.DefaultOptions(seed)
	opts.Log, opts.LogLevel = logs, slog.LevelInfo
	s, err := sim.New(opts)
	require.NoError(t, err)
	n, err := s.AddNode("n1", func() env.Process { return &holder{} }, disk)
	require.NoError(t, err)
	r := &rig{t: t, s: s, n: n, cfg: cfg, dir: testDir, logs: logs}
	require.NoError(t, n.Start())
	r.run(0)
	r.open()
	return r
}

// smallConfig has small segments and a dense index so that tests cross
// many segments and index entries with little data.
func smallConfig() Config {
	c := DefaultConfig()
	c.SegmentBytes = 16 << 10
	c.IndexIntervalBytes = 512
	return c
}

func (r *rig) env() env.Env { return r.n.Process().(*holder).e }

func (r *rig) open() {
	r.t.Helper()
	e := r.env()
	l, err := Open(e.FS(), e.Clock(), e.Log(), r.dir, r.cfg)
	require.NoError(r.t, err)
	r.l = l
}

// crash power-fails the node and opens the log again in the new
// incarnation.
func (r *rig) crash() {
	r.t.Helper()
	r.n.Crash()
	require.NoError(r.t, r.n.Start())
	r.run(0)
	r.open()
}

// reopen closes the log and opens it again on the same incarnation: a
// process restart whose page cache survived.
func (r *rig) reopen() {
	r.t.Helper()
	require.NoError(r.t, r.l.Close())
	r.open()
}

func (r *rig) run(d time.Duration) {
	r.t.Helper()
	require.NoError(r.t, r.s.RunFor(d))
}

// settle runs until no event is queued: every fsync and checkpoint write
// in flight completes.
func (r *rig) settle() {
	r.t.Helper()
	require.NoError(r.t, r.s.RunUntilIdle(1_000_000))
}

// wait runs until done() holds.
func (r *rig) wait(done func() bool) {
	r.t.Helper()
	require.NoError(r.t, r.s.RunWhile(func() bool { return !done() }))
	require.True(r.t, done(), "the simulator went idle first")
}

func (r *rig) flush() error {
	r.t.Helper()
	var got error
	done := false
	r.l.Flush(func(err error) { got, done = err, true })
	r.wait(func() bool { return done })
	return got
}

func (r *rig) checkpoint() {
	r.t.Helper()
	var got error
	done := false
	r.l.Checkpoint(func(err error) { got, done = err, true })
	r.wait(func() bool { return done })
	require.NoError(r.t, got)
}

func (r *rig) nowMs() int64 { return r.env().Clock().Now().UnixMilli() }

// appendN appends n batches of records×valueBytes, timestamped now, and
// records them in the model.
func (r *rig) appendN(n, recordsPerBatch, valueBytes int) {
	r.t.Helper()
	for range n {
		r.append(makeBatch(recordsPerBatch, valueBytes, r.nowMs()), 1)
	}
}

func (r *rig) append(b []byte, epoch int32) int64 {
	r.t.Helper()
	base, err := r.l.Append(b, epoch, r.nowMs())
	require.NoError(r.t, err)
	r.record(b)
	return base
}

func (r *rig) record(b []byte) {
	h, err := records.ParseHeader(b)
	require.NoError(r.t, err)
	r.model = append(r.model, modelBatch{base: h.BaseOffset, next: h.NextOffset(), data: bytes.Clone(b)})
}

// modelFrom is the model's bytes from the batch holding offset to end.
func (r *rig) modelFrom(offset, end int64) []byte {
	var out []byte
	for _, b := range r.model {
		if b.next > offset && b.base < end {
			out = append(out, b.data...)
		}
	}
	return out
}

// modelCut drops model batches at or after end (the log was cut there).
func (r *rig) modelCut(end int64) {
	for i, b := range r.model {
		if b.base >= end {
			r.model = r.model[:i]
			return
		}
	}
}

// readAll reads the log from offset to its end with reads of maxBytes.
func (r *rig) readAll(offset int64, maxBytes int) []byte {
	r.t.Helper()
	var out []byte
	for offset < r.l.EndOffset() {
		data, err := r.l.Read(offset, maxBytes, true)
		require.NoError(r.t, err)
		require.NotEmpty(r.t, data, "read at %d", offset)
		out = append(out, data...)
		offset = nextAfter(r.t, data)
	}
	return out
}

// checkLog asserts that the log holds exactly the model's batches from
// its start offset, through Read and through Batches.
func (r *rig) checkLog() {
	r.t.Helper()
	l := r.l
	want := r.modelFrom(l.StartOffset(), l.EndOffset())
	r.sameBatches(want, r.readAll(l.StartOffset(), 4096), "log content (Read)")
	var walked []byte
	require.NoError(r.t, l.Batches(l.StartOffset(), func(_ records.Header, b []byte) bool {
		walked = append(walked, b...)
		return true
	}))
	r.sameBatches(want, walked, "log content (Batches)")
}

// sameBatches compares two runs of batches, reporting a difference by
// base offsets rather than by dumping bytes.
func (r *rig) sameBatches(want, got []byte, what string) {
	r.t.Helper()
	if bytes.Equal(want, got) {
		return
	}
	r.t.Fatalf("%s: want %d bytes, batches %v; got %d bytes, batches %v (log [%d, %d), recovery point %d)\n%s",
		what, len(want), bases(r.t, want), len(got), bases(r.t, got), r.l.StartOffset(), r.l.EndOffset(), r.l.RecoveryPoint(), r.logs.String())
}

// nextAfter is the offset after the last batch in data.
func nextAfter(t testing.TB, data []byte) int64 {
	t.Helper()
	next := int64(-1)
	for len(data) > 0 {
		h, err := records.ParseHeader(data)
		require.NoError(t, err)
		next = h.NextOffset()
		data = data[h.Size():]
	}
	return next
}

// bases lists the base offsets of the batches in data.
func bases(t testing.TB, data []byte) []int64 {
	t.Helper()
	var out []int64
	for len(data) > 0 {
		h, err := records.ParseHeader(data)
		require.NoError(t, err)
		out = append(out, h.BaseOffset)
		data = data[h.Size():]
	}
	return out
}

// makeBatch builds a v2 batch of n records with values of valueBytes, all
// timestamped ts, with a valid CRC. Offsets and epoch are left for the log
// to stamp.
func makeBatch(n, valueBytes int, ts int64) []byte {
	return makeBatchTs(n, valueBytes, ts, ts)
}

func makeBatchTs(n, valueBytes int, firstTs, maxTs int64) []byte {
	var recs []byte
	for i := range n {
		rec := kmsg.Record{OffsetDelta: int32(i), Value: bytes.Repeat([]byte{byte('a' + i%26)}, valueBytes)}
		body := rec.AppendTo(nil)[1:] // without the 1-byte zero length
		rec.Length = int32(len(body))
		recs = rec.AppendTo(recs)
	}
	b := kmsg.RecordBatch{
		PartitionLeaderEpoch: -1, Magic: 2, LastOffsetDelta: int32(n - 1),
		FirstTimestamp: firstTs, MaxTimestamp: maxTs, ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1,
		NumRecords: int32(n), Records: recs,
		Length: int32(records.HeaderBytes - records.LogOverheadBytes + len(recs)),
	}
	raw := b.AppendTo(nil)
	h, err := records.ParseHeader(raw)
	if err != nil {
		panic(err)
	}
	binary.BigEndian.PutUint32(raw[17:], records.ComputeCRC(raw, h)) // the CRC field is at byte 17
	return raw
}

// stamped is a batch with its offset and epoch set, as a leader's log
// holds it, for follower appends.
func stamped(b []byte, base int64, epoch int32) []byte {
	records.SetBaseOffset(b, base)
	records.SetLeaderEpoch(b, epoch)
	return b
}

func (r *rig) fileBytes(name string) []byte {
	r.t.Helper()
	b, err := r.n.Disk().ReadFile(r.dir + "/" + name)
	require.NoError(r.t, err)
	return b
}

func segFile(base int64, suffix string) string { return segFileName(base, suffix) }
