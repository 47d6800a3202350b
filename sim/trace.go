package sim

import (
	"bufio"
	"fmt"
	"io"
	"math/bits"
)

// Kind names what a traced event is.
type Kind uint8

const (
	KindNone Kind = iota
	KindTimer
	KindStart
	KindStop
	KindCrash
	KindRestart
	KindPause
	KindResume
	KindDialSyn // a connection request reached the listener's host
	KindOpen    // a connection end opened (A: conn id)
	KindFrame   // a frame arrived (A: conn id, B: length<<32 | crc32c)
	KindFin     // an orderly close arrived (A: conn id)
	KindReset   // a connection end was reset (A: conn id)
	KindRefused // a dial was refused or timed out (A: conn id)
	KindClosed  // a connection end closed locally (A: conn id)
	KindSync    // a file or directory sync completed (A: inode or 0, B: 1 if failed)
	KindNet     // a change of partitions or clogs
	KindClock   // a change of a node's clock
	KindDisk    // a disk fault was injected
	KindCall    // a call into a process from the harness
	KindUser    // anything scheduled by a test or driver
	kindCount
)

var kindNames = [kindCount]string{
	"none", "timer", "start", "stop", "crash", "restart", "pause", "resume",
	"syn", "open", "frame", "fin", "reset", "refused", "closed", "sync",
	"net", "clock", "disk", "call", "user",
}

func (k Kind) String() string {
	if k < kindCount {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Record is the canonical form of a traced event: what happened, on which
// node, and two numbers whose meaning depends on the kind. Its encoding is
// what the trace hash covers, so it holds no pointers and no real time.
type Record struct {
	Kind Kind
	Node int32 // node index, -1 for the harness itself
	A, B uint64
}

// Trace keeps a rolling hash over every event that runs, and optionally
// writes each one as a line of text. Two runs with the same seed and
// options must end with the same hash; that is the determinism check.
type Trace struct {
	hash   uint64
	count  uint64
	w      *bufio.Writer
	names  func(int32) string
	errOut error
}

const traceHashInit = 0xcbf29ce484222325

func newTrace() *Trace { return &Trace{hash: traceHashInit} }

// Hash is the rolling hash so far.
func (t *Trace) Hash() uint64 { return t.hash }

// Count is the number of events traced.
func (t *Trace) Count() uint64 { return t.count }

// WriteTo makes the trace write each event as a line to w from now on.
func (t *Trace) writeTo(w io.Writer, names func(int32) string) {
	t.w = bufio.NewWriterSize(w, 64<<10)
	t.names = names
}

func (t *Trace) flush() error {
	if t.w == nil {
		return t.errOut
	}
	if err := t.w.Flush(); err != nil && t.errOut == nil {
		t.errOut = err
	}
	return t.errOut
}

func (t *Trace) add(at Time, r Record) {
	h := t.hash
	h = mixIn(h, uint64(at))
	h = mixIn(h, uint64(r.Kind)|uint64(uint32(r.Node))<<8)
	h = mixIn(h, r.A)
	h = mixIn(h, r.B)
	t.hash = h
	t.count++
	if t.w != nil {
		t.line(at, r)
	}
}

func (t *Trace) line(at Time, r Record) {
	node := "-"
	if r.Node >= 0 {
		node = t.names(r.Node)
	}
	_, err := fmt.Fprintf(t.w, "%d %s %s %d %d %016x\n", at, node, r.Kind, r.A, r.B, t.hash)
	if err != nil && t.errOut == nil {
		t.errOut = err
	}
}

// mixIn folds one word into the hash. It is a multiply-rotate mixer: cheap
// (the scheduler hashes every event) and sensitive to order and value.
func mixIn(h, v uint64) uint64 {
	h ^= v * 0x9e3779b97f4a7c15
	h = bits.RotateLeft64(h, 27) * 0xff51afd7ed558ccd
	return h ^ h>>31
}
