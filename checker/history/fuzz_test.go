package history

import (
	"bytes"
	"reflect"
	"testing"
)

// FuzzDecode: any line either fails to decode with an error, or decodes to
// an op that validates, encodes, and decodes back to the same op. Never a
// panic.
func FuzzDecode(f *testing.F) {
	var buf bytes.Buffer
	if err := WriteAll(&buf, sample()); err != nil {
		f.Fatal(err)
	}
	for _, line := range bytes.Split(buf.Bytes(), []byte("\n")) {
		f.Add(line)
	}
	for _, seed := range []string{
		`{"index":0,"time_ns":0,"process":0,"type":"ok","f":"send","value":[["send","t-0",[null,5]]]}`,
		`{"index":0,"time_ns":0,"process":0,"type":"ok","f":"poll","value":{"t-0":[[0,1]],"t-0":[]}}`,
		`{"index":0,"time_ns":0,"process":0,"type":"ok","f":"poll","value":{"t-0":[]},"hw":{"t-0":3}}`,
		`{"index":0,"time_ns":0,"process":0,"type":"ok","f":"x","value":{"a":[1,{"b":null}]}}`,
		`{"index":1e400}`, `null`, `{}`, `[`, "\xff",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		var op Op
		if err := op.UnmarshalJSON(line); err != nil {
			return
		}
		if err := op.Validate(); err != nil {
			t.Fatalf("decoded op does not validate: %v\n%s", err, line)
		}
		enc, err := op.MarshalJSON()
		if err != nil {
			t.Fatalf("decoded op does not encode: %v\n%s", err, line)
		}
		var back Op
		if err := back.UnmarshalJSON(enc); err != nil {
			t.Fatalf("encoding does not decode: %v\n%s\n%s", err, line, enc)
		}
		if !reflect.DeepEqual(back, op) {
			t.Fatalf("round trip differs:\n%+v\n%+v\n%s", op, back, enc)
		}
	})
}
