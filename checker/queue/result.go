package queue

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gregor-dst/gregor/checker/history"
)

// Kind names an anomaly, with Jepsen's names (jepsen.tests.kafka).
type Kind string

// The anomalies, per key (topic-partition). "Known offset" means an offset
// some acked send or ok poll showed holding a value: the log's version
// order is derived from those.
const (
	// LostWrite: an acked send at or below the highest offset any poll
	// read for its key, whose value no poll ever returned.
	LostWrite Kind = "lost-write"
	// Duplicate: one value at more than one offset.
	Duplicate Kind = "duplicate"
	// InconsistentOffsets: sends and polls disagree on the value at an
	// offset.
	InconsistentOffsets Kind = "inconsistent-offsets"
	// AbortedRead: a poll returned a value whose send definitely failed
	// (Jepsen's G1a, without transactions).
	AbortedRead Kind = "aborted-read"
	// PollSkip: a process's next poll of a key started past a known offset
	// after the one its previous poll ended at.
	PollSkip Kind = "poll-skip"
	// NonmonotonicPoll: a process's next poll of a key started at or
	// before the offset its previous poll ended at.
	NonmonotonicPoll Kind = "nonmonotonic-poll"
	// IntPollSkip and IntNonmonotonicPoll: the same between consecutive
	// records of one poll.
	IntPollSkip         Kind = "int-poll-skip"
	IntNonmonotonicPoll Kind = "int-nonmonotonic-poll"
	// NonmonotonicSend: a process's acked send got an offset at or below
	// the one its previous acked send to the key got.
	NonmonotonicSend Kind = "nonmonotonic-send"
	// IntNonmonotonicSend and IntSendSkip: within one send op, a later
	// micro-op's offset at or below an earlier one's, or past a known
	// offset between them (other producers' records in between).
	IntNonmonotonicSend Kind = "int-nonmonotonic-send"
	IntSendSkip         Kind = "int-send-skip"
	// Unseen: acked sends no poll ever returned; one anomaly per key, with
	// the count. A liveness matter: a run without a final poll phase will
	// have some.
	Unseen Kind = "unseen"
)

// Kinds lists every kind, in report order.
func Kinds() []Kind {
	return []Kind{
		LostWrite, Duplicate, InconsistentOffsets, AbortedRead,
		NonmonotonicSend, IntNonmonotonicSend, IntSendSkip,
		PollSkip, NonmonotonicPoll, IntPollSkip, IntNonmonotonicPoll,
		Unseen,
	}
}

// DefaultAllowed is Jepsen's allowed-error-types, as far as it applies
// without transactions: int-send-skip, because other producers' records
// interleave with an op's sends all the time. (Jepsen also allows G0 and
// PL-1 cycles, which need transactions.)
//
// Jepsen further allows poll-skip and nonmonotonic-poll in any test that
// subscribes. Here that is decided pair by pair from the history: a pair of
// polls with a subscription or a new assignment of the process between or
// around them is reported as allowed (Anomaly.Allowed) whatever the kind's
// setting, so the rest of the run stays checked.
func DefaultAllowed() []Kind { return []Kind{IntSendSkip} }

// Options configure Analyze.
type Options struct {
	// Allowed kinds are reported without failing the run. Nil means
	// DefaultAllowed; an empty, non-nil slice makes every kind fail.
	Allowed []Kind
	// ListedPerKindMax bounds the anomalies listed per kind, failing and
	// allowed ones each (Result.Counts stays exact), so a broken run's
	// report stays readable. Zero means 16.
	ListedPerKindMax int
	_                struct{}
}

// listedPerKindDefault is ListedPerKindMax's default.
const listedPerKindDefault = 16

// Anomaly is one finding, with the few ops that prove it.
type Anomaly struct {
	Kind Kind
	Key  history.Key
	// Witness holds the ops that prove the anomaly (at most witnessOpsMax),
	// cut down to this key and, for polls, to the records near the offsets
	// in question. Index finds the full op in the history.
	Witness     []history.Op
	Explanation string
	// Allowed: reported, but not failing the run (the kind is allowed, or
	// a rebalance explains it; the explanation says which).
	Allowed bool
	// Count is how many messages it covers: the number of unseen sends for
	// Unseen, 1 otherwise.
	Count int
	_     struct{}
}

// String is one line: kind, key, explanation and witness indexes.
func (a Anomaly) String() string {
	idx := make([]string, len(a.Witness))
	for i, op := range a.Witness {
		idx[i] = fmt.Sprint(op.Index)
	}
	allowed := ""
	if a.Allowed {
		allowed = " (allowed)"
	}
	return fmt.Sprintf("%s%s %s: %s [ops %s]", a.Kind, allowed, a.Key, a.Explanation, strings.Join(idx, " "))
}

// Result is the analysis of a history.
type Result struct {
	// Valid: no anomaly that fails the run.
	Valid bool
	// Counts is the number of anomalies of each kind, allowed or not.
	Counts map[Kind]int
	// Failures is the number of anomalies of each kind that fail the run.
	Failures map[Kind]int
	// Anomalies lists findings by kind (in Kinds order), then key, then
	// the first witness op; at most Options.ListedPerKindMax per kind.
	Anomalies []Anomaly
	// Unseen is, per key, the number of acked sends no poll returned.
	Unseen map[history.Key]int
	_      struct{}
}

// String summarizes: validity, then failing and allowed counts by kind.
func (r Result) String() string {
	var failing, allowed []string
	for _, k := range Kinds() {
		if n := r.Failures[k]; n > 0 {
			failing = append(failing, fmt.Sprintf("%s %d", k, n))
		}
		if n := r.Counts[k] - r.Failures[k]; n > 0 {
			allowed = append(allowed, fmt.Sprintf("%s %d", k, n))
		}
	}
	var b strings.Builder
	if r.Valid {
		b.WriteString("valid")
	} else {
		b.WriteString("invalid: " + strings.Join(failing, ", "))
	}
	if len(allowed) > 0 {
		b.WriteString("; allowed: " + strings.Join(allowed, ", "))
	}
	return b.String()
}

// report collects anomalies: exact counts, bounded lists.
type report struct {
	allowed   map[Kind]bool
	listedMax int
	counts    map[Kind]int
	failures  map[Kind]int
	listed    map[Kind][2]int // [failing, allowed] listed so far
	anomalies []Anomaly
	unseen    map[history.Key]int
	kindOrder map[Kind]int
}

func newReport(opts Options) *report {
	r := &report{
		allowed:   make(map[Kind]bool),
		listedMax: opts.ListedPerKindMax,
		counts:    make(map[Kind]int),
		failures:  make(map[Kind]int),
		listed:    make(map[Kind][2]int),
		unseen:    make(map[history.Key]int),
		kindOrder: make(map[Kind]int),
	}
	if r.listedMax <= 0 {
		r.listedMax = listedPerKindDefault
	}
	allowed := opts.Allowed
	if allowed == nil {
		allowed = DefaultAllowed()
	}
	for _, k := range allowed {
		r.allowed[k] = true
	}
	for i, k := range Kinds() {
		r.kindOrder[k] = i
	}
	return r
}

// add records a finding. contextAllowed is set when the history itself
// explains the anomaly (a rebalance); the explanation must then say so.
func (r *report) add(a Anomaly, contextAllowed bool) {
	a.Allowed = contextAllowed || r.allowed[a.Kind]
	if a.Count == 0 {
		a.Count = 1
	}
	r.counts[a.Kind]++
	slot := 1
	if !a.Allowed {
		r.failures[a.Kind]++
		slot = 0
	}
	listed := r.listed[a.Kind]
	if listed[slot] >= r.listedMax {
		return
	}
	listed[slot]++
	r.listed[a.Kind] = listed
	r.anomalies = append(r.anomalies, a)
}

func (r *report) result() Result {
	slices.SortStableFunc(r.anomalies, func(a, b Anomaly) int {
		if c := r.kindOrder[a.Kind] - r.kindOrder[b.Kind]; c != 0 {
			return c
		}
		if c := a.Key.Compare(b.Key); c != 0 {
			return c
		}
		return firstIndex(a) - firstIndex(b)
	})
	return Result{
		Valid:     len(r.failures) == 0,
		Counts:    r.counts,
		Failures:  r.failures,
		Anomalies: r.anomalies,
		Unseen:    r.unseen,
	}
}

func firstIndex(a Anomaly) int {
	if len(a.Witness) == 0 {
		return -1
	}
	return a.Witness[0].Index
}
