package history

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// MarshalJSON encodes the op as one JSON object, fields in a fixed order,
// so equal ops encode to equal bytes. It refuses an op that does not
// validate: a written history always reads back.
func (op Op) MarshalJSON() ([]byte, error) {
	return op.appendJSON(make([]byte, 0, 128))
}

// appendJSON writes by hand rather than through reflection: a history has
// millions of lines, and the field order is then fixed by the code.
// Validation guarantees that keys, topics, types and names need no escaping.
func (op Op) appendJSON(b []byte) ([]byte, error) {
	if err := op.Validate(); err != nil {
		return nil, err
	}
	b = append(b, `{"index":`...)
	b = strconv.AppendInt(b, int64(op.Index), 10)
	b = append(b, `,"time_ns":`...)
	b = strconv.AppendInt(b, op.TimeNs, 10)
	b = append(b, `,"process":`...)
	b = strconv.AppendInt(b, int64(op.Process), 10)
	b = append(b, `,"type":"`...)
	b = append(b, op.Type...)
	b = append(b, `","f":"`...)
	b = append(b, op.F...)
	b = append(b, '"')
	if !op.Value.IsZero() {
		b = append(b, `,"value":`...)
		b = appendValue(b, op.F, op.Value)
	}
	b = appendHighWatermarks(b, op.Value.Polls)
	if op.Final {
		b = append(b, `,"final":true`...)
	}
	if op.Error != "" {
		quoted, err := json.Marshal(op.Error)
		if err != nil {
			return nil, err
		}
		b = append(b, `,"error":`...)
		b = append(b, quoted...)
	}
	return append(b, '}'), nil
}

func appendValue(b []byte, f F, v Value) []byte {
	switch f {
	case Send:
		b = append(b, '[')
		for i, s := range v.Sends {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `["send","`...)
			b = append(b, s.Key.String()...)
			b = append(b, `",`...)
			if s.Acked() {
				b = appendPair(b, s.Offset, s.Value)
			} else {
				b = strconv.AppendInt(b, s.Value, 10)
			}
			b = append(b, ']')
		}
		return append(b, ']')
	case Poll:
		b = append(b, '{')
		for i, p := range v.Polls {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = append(b, p.Key.String()...)
			b = append(b, `":[`...)
			for j, r := range p.Records {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendPair(b, r.Offset, r.Value)
			}
			b = append(b, ']')
		}
		return append(b, '}')
	case Assign:
		b = append(b, '[')
		for i, k := range v.Keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = append(b, k.String()...)
			b = append(b, '"')
		}
		return append(b, ']')
	case Subscribe:
		b = append(b, '[')
		for i, t := range v.Topics {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = append(b, t...)
			b = append(b, '"')
		}
		return append(b, ']')
	}
	return append(b, v.Raw...)
}

func appendPair(b []byte, offset, value int64) []byte {
	b = append(b, '[')
	b = strconv.AppendInt(b, offset, 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, value, 10)
	return append(b, ']')
}

// appendHighWatermarks writes "hw" beside the value rather than inside it,
// so the value keeps Jepsen's shape (key -> [[offset value] ...]).
func appendHighWatermarks(b []byte, polls []Polled) []byte {
	first := true
	for _, p := range polls {
		if !p.HasHighWatermark {
			continue
		}
		if first {
			b = append(b, `,"hw":{`...)
			first = false
		} else {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, p.Key.String()...)
		b = append(b, `":`...)
		b = strconv.AppendInt(b, p.HighWatermark, 10)
	}
	if !first {
		b = append(b, '}')
	}
	return b
}

// opJSON is the decoding form. Pointers tell a missing field from a zero.
type opJSON struct {
	Index   *int            `json:"index"`
	TimeNs  *int64          `json:"time_ns"`
	Process *int            `json:"process"`
	Type    *string         `json:"type"`
	F       *string         `json:"f"`
	Value   json.RawMessage `json:"value"`
	HW      json.RawMessage `json:"hw"`
	Final   bool            `json:"final"`
	Error   string          `json:"error"`
}

// UnmarshalJSON decodes one op strictly: unknown fields, missing required
// fields, trailing data and values of the wrong shape are errors, and the
// result validates.
func (op *Op) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var raw opJSON
	if err := dec.Decode(&raw); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the op")
	}
	decoded, err := raw.op()
	if err != nil {
		return err
	}
	*op = decoded
	return nil
}

func (raw opJSON) op() (Op, error) {
	switch {
	case raw.Index == nil:
		return Op{}, errors.New(`missing "index"`)
	case raw.TimeNs == nil:
		return Op{}, errors.New(`missing "time_ns"`)
	case raw.Process == nil:
		return Op{}, errors.New(`missing "process"`)
	case raw.Type == nil:
		return Op{}, errors.New(`missing "type"`)
	case raw.F == nil:
		return Op{}, errors.New(`missing "f"`)
	}
	op := Op{
		Index:   *raw.Index,
		TimeNs:  *raw.TimeNs,
		Process: *raw.Process,
		Type:    Type(*raw.Type),
		F:       F(*raw.F),
		Final:   raw.Final,
		Error:   raw.Error,
	}
	v, err := decodeValue(op.F, raw.Value)
	if err != nil {
		return Op{}, fmt.Errorf("value: %w", err)
	}
	op.Value = v
	if err := decodeHighWatermarks(&op.Value, raw.HW); err != nil {
		return Op{}, fmt.Errorf("hw: %w", err)
	}
	if err := op.Validate(); err != nil {
		return Op{}, err
	}
	return op, nil
}

func isNull(raw json.RawMessage) bool {
	trimmed := bytes.TrimSpace(raw)
	return len(trimmed) == 0 || string(trimmed) == "null"
}

func decodeValue(f F, raw json.RawMessage) (Value, error) {
	if isNull(raw) {
		return Value{}, nil
	}
	switch f {
	case Send:
		sends, err := decodeSends(raw)
		return Value{Sends: sends}, err
	case Poll:
		polls, err := decodePolls(raw)
		return Value{Polls: polls}, err
	case Assign:
		var texts []string
		if err := json.Unmarshal(raw, &texts); err != nil {
			return Value{}, err
		}
		keys := make([]Key, 0, len(texts))
		for _, s := range texts {
			k, err := ParseKey(s)
			if err != nil {
				return Value{}, err
			}
			keys = append(keys, k)
		}
		return Value{Keys: nilIfEmpty(keys)}, nil
	case Subscribe:
		var topics []string
		if err := json.Unmarshal(raw, &topics); err != nil {
			return Value{}, err
		}
		return Value{Topics: nilIfEmpty(topics)}, nil
	case Crash:
		return Value{}, errors.New("a crash carries no value")
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return Value{}, err
	}
	return Value{Raw: compact.Bytes()}, nil
}

// nilIfEmpty makes "[]" and a missing value decode alike, so a round trip
// compares equal.
func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

// decodeSends reads [["send", key, value | [offset|null, value]], ...].
func decodeSends(raw json.RawMessage) ([]SendOp, error) {
	var mops []json.RawMessage
	if err := json.Unmarshal(raw, &mops); err != nil {
		return nil, err
	}
	sends := make([]SendOp, 0, len(mops))
	for i, m := range mops {
		s, err := decodeSend(m)
		if err != nil {
			return nil, fmt.Errorf("micro-op %d: %w", i, err)
		}
		sends = append(sends, s)
	}
	return nilIfEmpty(sends), nil
}

func decodeSend(raw json.RawMessage) (SendOp, error) {
	var parts []json.RawMessage
	if err := json.Unmarshal(raw, &parts); err != nil {
		return SendOp{}, err
	}
	if len(parts) != 3 {
		return SendOp{}, fmt.Errorf(`want ["send", key, value], got %d elements`, len(parts))
	}
	var name, keyText string
	if err := json.Unmarshal(parts[0], &name); err != nil || name != "send" {
		return SendOp{}, fmt.Errorf(`want "send" first, got %s`, parts[0])
	}
	if err := json.Unmarshal(parts[1], &keyText); err != nil {
		return SendOp{}, fmt.Errorf("key: %w", err)
	}
	key, err := ParseKey(keyText)
	if err != nil {
		return SendOp{}, err
	}
	third := bytes.TrimSpace(parts[2])
	if len(third) > 0 && third[0] != '[' {
		v, err := decodeInt(third)
		return NewSend(key, v), err
	}
	var pair []json.RawMessage
	if err := json.Unmarshal(third, &pair); err != nil {
		return SendOp{}, err
	}
	if len(pair) != 2 {
		return SendOp{}, fmt.Errorf("want [offset, value], got %d elements", len(pair))
	}
	v, err := decodeInt(pair[1])
	if err != nil {
		return SendOp{}, err
	}
	if isNull(pair[0]) {
		return NewSend(key, v), nil // Jepsen's [nil value]: acknowledged without an offset
	}
	o, err := decodeInt(pair[0])
	if err != nil {
		return SendOp{}, err
	}
	if o < 0 {
		return SendOp{}, fmt.Errorf("negative offset %d", o)
	}
	return AckedSend(key, v, o), nil
}

// decodeInt reads an integer, refusing null (which json would leave as 0)
// and fractions.
func decodeInt(raw json.RawMessage) (int64, error) {
	if isNull(raw) {
		return 0, errors.New("null where a number belongs")
	}
	var n int64
	if err := json.Unmarshal(raw, &n); err != nil {
		return 0, err
	}
	return n, nil
}

// decodeObject walks a JSON object in order, so a repeated key is an error
// rather than silently the last one.
func decodeObject(raw json.RawMessage, field func(key Key, value json.RawMessage) error) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("want an object, got %v", tok)
	}
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		name, _ := tok.(string) // object keys are always strings
		if seen[name] {
			return fmt.Errorf("key %q twice", name)
		}
		seen[name] = true
		key, err := ParseKey(name)
		if err != nil {
			return err
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return err
		}
		if err := field(key, value); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
	}
	_, err = dec.Token() // the closing brace; the outer decoder checked the syntax
	return err
}

// decodePolls reads {key: [[offset, value], ...], ...} and sorts by key.
func decodePolls(raw json.RawMessage) ([]Polled, error) {
	var polls []Polled
	err := decodeObject(raw, func(key Key, value json.RawMessage) error {
		var pairs []json.RawMessage
		if err := json.Unmarshal(value, &pairs); err != nil {
			return err
		}
		p := Polled{Key: key}
		for i, pr := range pairs {
			var parts []json.RawMessage
			if err := json.Unmarshal(pr, &parts); err != nil {
				return fmt.Errorf("record %d: %w", i, err)
			}
			if len(parts) != 2 {
				return fmt.Errorf("record %d: want [offset, value], got %d elements", i, len(parts))
			}
			o, err := decodeInt(parts[0])
			if err != nil {
				return fmt.Errorf("record %d offset: %w", i, err)
			}
			v, err := decodeInt(parts[1])
			if err != nil {
				return fmt.Errorf("record %d value: %w", i, err)
			}
			p.Records = append(p.Records, Record{Offset: o, Value: v})
		}
		polls = append(polls, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sortPolls(polls)
	return polls, nil
}

// decodeHighWatermarks reads {key: hw, ...} into the polls of those keys.
func decodeHighWatermarks(v *Value, raw json.RawMessage) error {
	if isNull(raw) {
		return nil
	}
	return decodeObject(raw, func(key Key, value json.RawMessage) error {
		hw, err := decodeInt(value)
		if err != nil {
			return err
		}
		for i := range v.Polls {
			if v.Polls[i].Key == key {
				v.Polls[i].HighWatermark, v.Polls[i].HasHighWatermark = hw, true
				return nil
			}
		}
		return errors.New("not among the poll's keys (write the key with no records)")
	})
}
