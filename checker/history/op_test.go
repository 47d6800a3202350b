package history

import (
	"strings"
	"testing"
)

func TestParseKey(t *testing.T) {
	for _, tc := range []struct {
		text string
		want Key
		err  string
	}{
		{text: "t-0", want: Key{"t", 0}},
		{text: "orders-12", want: Key{"orders", 12}},
		{text: "my-topic-3", want: Key{"my-topic", 3}}, // split at the last '-'
		{text: "a.b_c-2147483647", want: Key{"a.b_c", 2147483647}},
		{text: "t", err: "want topic-partition"},
		{text: "t-", err: "partition"},
		{text: "-1", err: "topic"},
		{text: "t-x", err: "partition"},
		{text: "t-2147483648", err: "partition"},
		{text: "t-01", err: "canonical"},
		{text: "t-+1", err: "canonical"},
		{text: "t--1", want: Key{"t-", 1}}, // topic "t-", not a negative partition
		{text: "bad topic-1", err: "topic"},
		{text: "..-1", err: "not a legal name"},
		{text: strings.Repeat("x", 250) + "-0", err: "1 to 249"},
	} {
		got, err := ParseKey(tc.text)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseKey(%q) = %v, %v; want error containing %q", tc.text, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseKey(%q) = %v, %v; want %v", tc.text, got, err, tc.want)
		}
		if got.String() != tc.text {
			t.Errorf("%v.String() = %q, want %q", got, got.String(), tc.text)
		}
	}
}

func TestKeyCompare(t *testing.T) {
	keys := []Key{{"a", 0}, {"a", 1}, {"a", 10}, {"b", 0}}
	for i := range keys {
		for j := range keys {
			got := keys[i].Compare(keys[j])
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got != want {
				t.Errorf("%v.Compare(%v) = %d, want %d", keys[i], keys[j], got, want)
			}
		}
	}
}

func TestOpValidate(t *testing.T) {
	k := Key{"t", 0}
	for _, tc := range []struct {
		name string
		op   Op
		err  string
	}{
		{name: "send invoke", op: Op{Type: Invoke, F: Send, Value: Sends(NewSend(k, 1))}},
		{name: "send ok", op: Op{Type: Ok, F: Send, Value: Sends(AckedSend(k, 1, 0))}},
		{name: "poll ok", op: Op{Type: Ok, F: Poll, Value: Polls(Records(k, Record{0, 1}))}},
		{name: "crash", op: Op{Type: Info, F: Crash}},
		{name: "open f", op: Op{Type: Ok, F: "debug-topic-partitions", Value: Value{Raw: []byte(`{"a":1}`)}}},
		{name: "bad type", op: Op{Type: "OK", F: Send}, err: "type"},
		{name: "bad f", op: Op{Type: Ok, F: "Send"}, err: "want only"},
		{name: "empty f", op: Op{Type: Ok}, err: "f"},
		{name: "negative index", op: Op{Index: -1, Type: Ok, F: Crash}, err: "negative index"},
		{name: "invoke with offset", op: Op{Type: Invoke, F: Send, Value: Sends(SendOp{Key: k, Value: 1})}, err: "invocation carries offset 0"},
		{name: "sends on a poll", op: Op{Type: Ok, F: Poll, Value: Sends(NewSend(k, 1))}, err: "carries sends"},
		{name: "raw on a send", op: Op{Type: Ok, F: Send, Value: Value{Raw: []byte(`1`)}}, err: "carries raw"},
		{name: "unsorted polls", op: Op{Type: Ok, F: Poll, Value: Polls(Records(Key{"t", 1}), Records(k))}, err: "sorted and distinct"},
		{name: "duplicate polls", op: Op{Type: Ok, F: Poll, Value: Polls(Records(k), Records(k))}, err: "sorted and distinct"},
		{name: "negative record offset", op: Op{Type: Ok, F: Poll, Value: Polls(Records(k, Record{-1, 1}))}, err: "negative offset"},
		{name: "poll invoke with records", op: Op{Type: Invoke, F: Poll, Value: Polls(Records(k))}, err: "invocation carries records"},
		{name: "final send", op: Op{Type: Ok, F: Send, Final: true}, err: "only polls are final"},
		{name: "bad key", op: Op{Type: Ok, F: Assign, Value: Keys(Key{"t", -1})}, err: "negative partition"},
		{name: "bad topic", op: Op{Type: Ok, F: Subscribe, Value: Topics("a b")}, err: "topic"},
		{name: "raw not json", op: Op{Type: Ok, F: "x", Value: Value{Raw: []byte(`{`)}}, err: "not JSON"},
	} {
		err := tc.op.Validate()
		if tc.err == "" && err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.err)
		}
	}
}
