package history

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Type says whether an op is an invocation or how it completed.
type Type string

// The op types. A completion is ok (it happened, and its value says what it
// saw), fail (it definitely did not happen) or info (unknown: it may or may
// not have happened, and its value is only what was asked).
const (
	Invoke Type = "invoke"
	Ok     Type = "ok"
	Fail   Type = "fail"
	Info   Type = "info"
)

// Valid reports whether t is one of the four types.
func (t Type) Valid() bool {
	return t == Invoke || t == Ok || t == Fail || t == Info
}

// F is the operation a client performs. The set is open: the ones below
// have typed values, any other keeps its value as raw JSON.
type F string

// The operations with typed values.
const (
	Send      F = "send"      // Value.Sends
	Poll      F = "poll"      // Value.Polls (completions); Op.Final marks the final-poll phase
	Assign    F = "assign"    // Value.Keys: the partitions assigned, replacing the previous ones
	Subscribe F = "subscribe" // Value.Topics: the topics subscribed, replacing the previous ones
	Crash     F = "crash"     // the client was torn down; its process starts afresh
)

// fBytesMax bounds an operation name: a name is a word, not data.
const fBytesMax = 64

// validate accepts short lower-case words, so a name never needs escaping
// in JSON and a typo'd type ("Send") is not silently a new operation.
func (f F) validate() error {
	if f == "" || len(f) > fBytesMax {
		return fmt.Errorf("f %q: want 1 to %d characters", string(f), fBytesMax)
	}
	for _, c := range []byte(f) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("f %q: want only a-z, 0-9, '-' and '_'", string(f))
		}
	}
	return nil
}

// Key names one log: a topic-partition. Its text form is "topic-partition",
// split at the last '-' (topic names may contain '-').
type Key struct {
	Topic     string
	Partition int32
}

// topicBytesMax is Kafka's limit on a topic name.
const topicBytesMax = 249

// String returns "topic-partition".
func (k Key) String() string {
	return k.Topic + "-" + strconv.FormatInt(int64(k.Partition), 10)
}

// Compare orders keys by topic, then partition.
func (k Key) Compare(o Key) int {
	if c := strings.Compare(k.Topic, o.Topic); c != 0 {
		return c
	}
	switch {
	case k.Partition < o.Partition:
		return -1
	case k.Partition > o.Partition:
		return 1
	}
	return 0
}

// Validate checks the topic against Kafka's rules (legal characters, at
// most 249 bytes) and that the partition is not negative; a legal topic
// never needs escaping in JSON.
func (k Key) Validate() error {
	if err := validateTopic(k.Topic); err != nil {
		return err
	}
	if k.Partition < 0 {
		return fmt.Errorf("key %s: negative partition", k)
	}
	return nil
}

func validateTopic(topic string) error {
	if topic == "" || len(topic) > topicBytesMax {
		return fmt.Errorf("topic %q: want 1 to %d characters", topic, topicBytesMax)
	}
	if topic == "." || topic == ".." {
		return fmt.Errorf("topic %q is not a legal name", topic)
	}
	for _, c := range []byte(topic) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("topic %q: want only a-z, A-Z, 0-9, '.', '_' and '-'", topic)
		}
	}
	return nil
}

// ParseKey parses "topic-partition".
func ParseKey(s string) (Key, error) {
	i := strings.LastIndexByte(s, '-')
	if i < 0 {
		return Key{}, fmt.Errorf("key %q: want topic-partition", s)
	}
	p, err := strconv.ParseInt(s[i+1:], 10, 32)
	if err != nil {
		return Key{}, fmt.Errorf("key %q: partition: %w", s, errors.Unwrap(err))
	}
	k := Key{Topic: s[:i], Partition: int32(p)}
	if err := k.Validate(); err != nil {
		return Key{}, err
	}
	if k.String() != s {
		// "t-01" and "t-+1" parse to t-1; one key has one spelling, so
		// histories compare as text.
		return Key{}, fmt.Errorf("key %q: want the canonical spelling %q", s, k.String())
	}
	return k, nil
}

// MarshalText returns "topic-partition".
func (k Key) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText parses "topic-partition".
func (k *Key) UnmarshalText(b []byte) error {
	parsed, err := ParseKey(string(b))
	if err != nil {
		return err
	}
	*k = parsed
	return nil
}

// Record is a message at an offset, as a poll returned it. Values are unique
// per key (the workload sees to it), so a value names one send.
type Record struct {
	Offset int64
	Value  int64
}

// OffsetUnknown is a send's offset before, or without, an acknowledgement
// that named one (Kafka's -1; Jepsen's nil).
const OffsetUnknown int64 = -1

// SendOp is one send micro-op: Value appended to Key. Offset is where the
// broker put it, known only in an ok completion; OffsetUnknown otherwise.
type SendOp struct {
	Key    Key
	Value  int64
	Offset int64
}

// NewSend returns the micro-op of an invocation: the offset is not known.
func NewSend(key Key, value int64) SendOp {
	return SendOp{Key: key, Value: value, Offset: OffsetUnknown}
}

// AckedSend returns the micro-op of an ok completion.
func AckedSend(key Key, value, offset int64) SendOp {
	return SendOp{Key: key, Value: value, Offset: offset}
}

// Acked reports whether the offset is known.
func (s SendOp) Acked() bool { return s.Offset >= 0 }

// Polled is what one poll returned for one key: the records in the order
// returned and, when the client saw it, the partition's high watermark
// (Kafka's: one past the last committed offset).
type Polled struct {
	Key     Key
	Records []Record
	// HighWatermark is valid when HasHighWatermark; a separate flag, not a
	// -1, because 0 is a real high watermark and a zero-valued Polled must
	// not claim one.
	HighWatermark    int64
	HasHighWatermark bool
	_                struct{}
}

// Value is an op's payload. Which field is used depends on the op's F; the
// others stay empty (Op.Validate checks).
type Value struct {
	Sends  []SendOp // Send: micro-ops in the order sent
	Polls  []Polled // Poll completions: one per key, sorted by key
	Keys   []Key    // Assign
	Topics []string // Subscribe
	// Raw is the value of any other F, kept as JSON.
	Raw json.RawMessage
	_   struct{}
}

// IsZero reports whether the value is empty.
func (v Value) IsZero() bool {
	return len(v.Sends) == 0 && len(v.Polls) == 0 && len(v.Keys) == 0 && len(v.Topics) == 0 && len(v.Raw) == 0
}

// Sends returns a send value.
func Sends(sends ...SendOp) Value { return Value{Sends: sends} }

// Polls returns a poll value. Call it with polls sorted by key.
func Polls(polls ...Polled) Value { return Value{Polls: polls} }

// Records returns a Polled without a high watermark.
func Records(key Key, records ...Record) Polled {
	return Polled{Key: key, Records: records}
}

// Keys returns an assign value.
func Keys(keys ...Key) Value { return Value{Keys: keys} }

// Topics returns a subscribe value.
func Topics(topics ...string) Value { return Value{Topics: topics} }

// Op is one line of a history.
type Op struct {
	// Index is the op's position in its history; indexes increase.
	Index int
	// TimeNs is when the op happened, in nanoseconds (simulated, or one
	// monotonic clock); never decreasing along a history.
	TimeNs int64
	// Process is the client. A process has at most one call open.
	Process int
	Type    Type
	F       F
	Value   Value
	// Final marks a poll of the final-poll phase, after faults stopped.
	Final bool
	// Error says why a fail or info completion ended so, for reports.
	Error string
	_     struct{}
}

// String is a one-line description for witnesses and test failures.
func (op Op) String() string {
	b, err := op.MarshalJSON()
	if err != nil {
		return fmt.Sprintf("invalid op %d: %v", op.Index, err)
	}
	return string(b)
}

// Validate checks one op on its own: its type and name, and that its value
// has the shape its F gives it. It does not look at other ops (Reader and
// Pair check indexes, times and pairing).
func (op Op) Validate() error {
	if !op.Type.Valid() {
		return fmt.Errorf("type %q: want invoke, ok, fail or info", string(op.Type))
	}
	if err := op.F.validate(); err != nil {
		return err
	}
	if op.Index < 0 {
		return fmt.Errorf("negative index %d", op.Index)
	}
	if op.Final && op.F != Poll {
		return fmt.Errorf("final on f %q: only polls are final", string(op.F))
	}
	return op.validateValue()
}

func (op Op) validateValue() error {
	v := op.Value
	var extra []string
	if len(v.Sends) > 0 && op.F != Send {
		extra = append(extra, "sends")
	}
	if len(v.Polls) > 0 && op.F != Poll {
		extra = append(extra, "polls")
	}
	if len(v.Keys) > 0 && op.F != Assign {
		extra = append(extra, "keys")
	}
	if len(v.Topics) > 0 && op.F != Subscribe {
		extra = append(extra, "topics")
	}
	if len(v.Raw) > 0 && typedF(op.F) {
		extra = append(extra, "raw")
	}
	if len(extra) > 0 {
		return fmt.Errorf("f %q carries %s", string(op.F), strings.Join(extra, ", "))
	}
	switch op.F {
	case Send:
		return validateSends(op.Type, v.Sends)
	case Poll:
		if op.Type == Invoke && len(v.Polls) > 0 {
			return errors.New("a poll invocation carries records")
		}
		return validatePolls(v.Polls)
	case Assign:
		for _, k := range v.Keys {
			if err := k.Validate(); err != nil {
				return err
			}
		}
	case Subscribe:
		for _, t := range v.Topics {
			if err := validateTopic(t); err != nil {
				return err
			}
		}
	default:
		if len(v.Raw) > 0 && !json.Valid(v.Raw) {
			return fmt.Errorf("f %q: raw value is not JSON", string(op.F))
		}
	}
	return nil
}

// typedF reports whether f's value has typed fields (and so no raw form).
func typedF(f F) bool {
	return f == Send || f == Poll || f == Assign || f == Subscribe || f == Crash
}

func validateSends(t Type, sends []SendOp) error {
	for i, s := range sends {
		if err := s.Key.Validate(); err != nil {
			return fmt.Errorf("send %d: %w", i, err)
		}
		if s.Offset < OffsetUnknown {
			return fmt.Errorf("send %d: offset %d", i, s.Offset)
		}
		// An invocation cannot know where its record lands. Checking it
		// here also catches a SendOp literal whose Offset was left at 0.
		if t == Invoke && s.Acked() {
			return fmt.Errorf("send %d: an invocation carries offset %d", i, s.Offset)
		}
	}
	return nil
}

func validatePolls(polls []Polled) error {
	for i, p := range polls {
		if err := p.Key.Validate(); err != nil {
			return err
		}
		if i > 0 && polls[i-1].Key.Compare(p.Key) >= 0 {
			return fmt.Errorf("poll keys %s, %s: want sorted and distinct", polls[i-1].Key, p.Key)
		}
		if p.HasHighWatermark && p.HighWatermark < 0 {
			return fmt.Errorf("poll %s: negative high watermark %d", p.Key, p.HighWatermark)
		}
		for _, r := range p.Records {
			if r.Offset < 0 {
				return fmt.Errorf("poll %s: negative offset %d", p.Key, r.Offset)
			}
		}
	}
	return nil
}

// sortPolls orders polls by key, the order Validate requires.
func sortPolls(polls []Polled) {
	slices.SortFunc(polls, func(a, b Polled) int { return a.Key.Compare(b.Key) })
}
