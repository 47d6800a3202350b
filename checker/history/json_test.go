package history

import (
	"reflect"
	"strings"
	"testing"
)

// TestEncodeExact pins the line format: field order, micro-op shapes, hw
// beside the value.
func TestEncodeExact(t *testing.T) {
	k0, k1 := Key{"t", 0}, Key{"t", 1}
	for _, tc := range []struct {
		op   Op
		line string
	}{
		{
			op:   Op{Index: 0, TimeNs: 10, Process: 1, Type: Invoke, F: Send, Value: Sends(NewSend(k0, 5), NewSend(k1, 6))},
			line: `{"index":0,"time_ns":10,"process":1,"type":"invoke","f":"send","value":[["send","t-0",5],["send","t-1",6]]}`,
		},
		{
			op:   Op{Index: 1, TimeNs: 20, Process: 1, Type: Ok, F: Send, Value: Sends(AckedSend(k0, 5, 3), NewSend(k1, 6))},
			line: `{"index":1,"time_ns":20,"process":1,"type":"ok","f":"send","value":[["send","t-0",[3,5]],["send","t-1",6]]}`,
		},
		{
			op:   Op{Index: 2, TimeNs: 30, Process: 2, Type: Invoke, F: Poll, Final: true},
			line: `{"index":2,"time_ns":30,"process":2,"type":"invoke","f":"poll","final":true}`,
		},
		{
			op: Op{Index: 3, TimeNs: 40, Process: 2, Type: Ok, F: Poll, Final: true, Value: Polls(
				Polled{Key: k0, Records: []Record{{3, 5}, {4, 7}}, HighWatermark: 5, HasHighWatermark: true},
				Records(k1))},
			line: `{"index":3,"time_ns":40,"process":2,"type":"ok","f":"poll","value":{"t-0":[[3,5],[4,7]],"t-1":[]},"hw":{"t-0":5},"final":true}`,
		},
		{
			op:   Op{Index: 4, TimeNs: 50, Process: 3, Type: Info, F: Send, Value: Sends(NewSend(k0, 9)), Error: `timeout "x"`},
			line: `{"index":4,"time_ns":50,"process":3,"type":"info","f":"send","value":[["send","t-0",9]],"error":"timeout \"x\""}`,
		},
		{
			op:   Op{Index: 5, TimeNs: 60, Process: 3, Type: Ok, F: Assign, Value: Keys(k0, k1)},
			line: `{"index":5,"time_ns":60,"process":3,"type":"ok","f":"assign","value":["t-0","t-1"]}`,
		},
		{
			op:   Op{Index: 6, TimeNs: 70, Process: 3, Type: Ok, F: Subscribe, Value: Topics("t")},
			line: `{"index":6,"time_ns":70,"process":3,"type":"ok","f":"subscribe","value":["t"]}`,
		},
		{
			op:   Op{Index: 7, TimeNs: 80, Process: 4, Type: Info, F: Crash},
			line: `{"index":7,"time_ns":80,"process":4,"type":"info","f":"crash"}`,
		},
		{
			op:   Op{Index: 8, TimeNs: 90, Process: -1, Type: Info, F: "nemesis", Value: Value{Raw: []byte(`{"partition":[1,2]}`)}},
			line: `{"index":8,"time_ns":90,"process":-1,"type":"info","f":"nemesis","value":{"partition":[1,2]}}`,
		},
	} {
		got, err := tc.op.MarshalJSON()
		if err != nil {
			t.Fatalf("op %d: %v", tc.op.Index, err)
		}
		if string(got) != tc.line {
			t.Errorf("op %d:\n got %s\nwant %s", tc.op.Index, got, tc.line)
		}
		var back Op
		if err := back.UnmarshalJSON(got); err != nil {
			t.Fatalf("op %d: decode: %v", tc.op.Index, err)
		}
		if !reflect.DeepEqual(back, tc.op) {
			t.Errorf("op %d: decoded\n %+v\nwant %+v", tc.op.Index, back, tc.op)
		}
	}
}

// TestDecodeLenient: spellings the encoder never writes but other writers
// (Jepsen, hand edits) may, which mean the same op.
func TestDecodeLenient(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{ // Jepsen's [nil value]: acknowledged, offset unknown
			line: `{"index":0,"time_ns":0,"process":0,"type":"ok","f":"send","value":[["send","t-0",[null,5]]]}`,
			want: `{"index":0,"time_ns":0,"process":0,"type":"ok","f":"send","value":[["send","t-0",5]]}`,
		},
		{ // value null, empty containers, whitespace, unsorted poll keys
			line: ` { "index" : 0, "time_ns":0, "process":0, "type":"ok", "f":"poll", "value": {"t-1":[], "t-0":[[0, 1]]} } `,
			want: `{"index":0,"time_ns":0,"process":0,"type":"ok","f":"poll","value":{"t-0":[[0,1]],"t-1":[]}}`,
		},
		{
			line: `{"index":0,"time_ns":0,"process":0,"type":"ok","f":"assign","value":null}`,
			want: `{"index":0,"time_ns":0,"process":0,"type":"ok","f":"assign"}`,
		},
		{
			line: `{"index":0,"time_ns":0,"process":0,"type":"ok","f":"x","value":{ "a" : [1, 2] }}`,
			want: `{"index":0,"time_ns":0,"process":0,"type":"ok","f":"x","value":{"a":[1,2]}}`,
		},
	} {
		var op Op
		if err := op.UnmarshalJSON([]byte(tc.line)); err != nil {
			t.Errorf("%s: %v", tc.line, err)
			continue
		}
		if got := op.String(); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.line, got, tc.want)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	const head = `"index":0,"time_ns":0,"process":0,`
	for _, tc := range []struct{ line, err string }{
		{`not json`, "invalid character"},
		{`[]`, "cannot unmarshal array"},
		{`{` + head + `"type":"ok","f":"crash"} {}`, "data after the op"},
		{`{"time_ns":0,"process":0,"type":"ok","f":"crash"}`, `missing "index"`},
		{`{"index":0,"process":0,"type":"ok","f":"crash"}`, `missing "time_ns"`},
		{`{"index":0,"time_ns":0,"type":"ok","f":"crash"}`, `missing "process"`},
		{`{` + head + `"f":"crash"}`, `missing "type"`},
		{`{` + head + `"type":"ok"}`, `missing "f"`},
		{`{` + head + `"type":"ok","f":"crash","extra":1}`, `unknown field "extra"`},
		{`{` + head + `"type":"done","f":"crash"}`, `type "done"`},
		{`{"index":0.5,"time_ns":0,"process":0,"type":"ok","f":"crash"}`, "cannot unmarshal number 0.5"},
		{`{` + head + `"type":"ok","f":"crash","value":1}`, "crash carries no value"},
		{`{` + head + `"type":"ok","f":"send","value":{}}`, "cannot unmarshal object"},
		{`{` + head + `"type":"ok","f":"send","value":[["poll","t-0",1]]}`, `want "send" first`},
		{`{` + head + `"type":"ok","f":"send","value":[["send","t-0"]]}`, "got 2 elements"},
		{`{` + head + `"type":"ok","f":"send","value":[["send","t",1]]}`, "want topic-partition"},
		{`{` + head + `"type":"ok","f":"send","value":[["send","t-0",null]]}`, "null where a number belongs"},
		{`{` + head + `"type":"ok","f":"send","value":[["send","t-0",1.5]]}`, "cannot unmarshal number 1.5"},
		{`{` + head + `"type":"ok","f":"send","value":[["send","t-0",[1]]]}`, "want [offset, value]"},
		{`{` + head + `"type":"ok","f":"send","value":[["send","t-0",[-2,1]]]}`, "negative offset"},
		{`{` + head + `"type":"ok","f":"send","value":[["send","t-0","5"]]}`, "cannot unmarshal string"},
		{`{` + head + `"type":"invoke","f":"send","value":[["send","t-0",[0,5]]]}`, "invocation carries offset 0"},
		{`{` + head + `"type":"ok","f":"poll","value":[]}`, "want an object"},
		{`{` + head + `"type":"ok","f":"poll","value":{"t-0":[[0,1]],"t-0":[]}}`, `key "t-0" twice`},
		{`{` + head + `"type":"ok","f":"poll","value":{"t-0":[[0]]}}`, "record 0: want [offset, value]"},
		{`{` + head + `"type":"ok","f":"poll","value":{"t-0":[[null,1]]}}`, "record 0 offset: null"},
		{`{` + head + `"type":"ok","f":"poll","value":{"t-0":[[-1,1]]}}`, "negative offset"},
		{`{` + head + `"type":"ok","f":"poll","value":{"t-0":[]},"hw":{"t-1":3}}`, "not among the poll's keys"},
		{`{` + head + `"type":"ok","f":"poll","value":{"t-0":[]},"hw":{"t-0":-3}}`, "negative high watermark"},
		{`{` + head + `"type":"ok","f":"send","hw":{"t-0":3}}`, "not among the poll's keys"},
		{`{` + head + `"type":"ok","f":"assign","value":["t-0","x"]}`, "want topic-partition"},
		{`{` + head + `"type":"ok","f":"subscribe","value":["a b"]}`, "topic"},
		{`{` + head + `"type":"ok","f":"send","final":true}`, "only polls are final"},
	} {
		var op Op
		err := op.UnmarshalJSON([]byte(tc.line))
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s:\n got %v\nwant an error containing %q", tc.line, err, tc.err)
		}
	}
}
