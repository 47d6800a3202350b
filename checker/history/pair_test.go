package history

import (
	"strings"
	"testing"
)

func TestPair(t *testing.T) {
	calls, err := Pair(sample())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range calls {
		got = append(got, string(c.Invoke.F)+":"+string(c.Outcome()))
	}
	want := "assign:ok send:ok send:info poll:ok subscribe:fail crash:info debug:info poll:ok"
	if strings.Join(got, " ") != want {
		t.Fatalf("calls %v, want %s", got, want)
	}
	if !calls[6].Pending || calls[6].Completion.Type != "" {
		t.Fatalf("the debug call should be pending: %+v", calls[6])
	}
	if !calls[7].Completion.Final {
		t.Fatal("the final poll's completion lost its flag")
	}
}

func TestPairErrors(t *testing.T) {
	k := Key{"t", 0}
	inv := func(i, p int, f F) Op { return Op{Index: i, Process: p, Type: Invoke, F: f} }
	done := func(i, p int, f F) Op { return Op{Index: i, Process: p, Type: Ok, F: f} }
	for _, tc := range []struct {
		name string
		ops  []Op
		err  string
	}{
		{"double invoke", []Op{inv(0, 1, Poll), inv(1, 1, Poll)}, "op 1: process 1 invokes poll with op 0 still open"},
		{"orphan completion", []Op{done(0, 1, Poll)}, "op 0: process 1 completes poll with no call open"},
		{"wrong f", []Op{{Index: 0, Process: 1, Type: Invoke, F: Send, Value: Sends(NewSend(k, 1))}, done(1, 1, Poll)}, "op 1: process 1 completes poll, but its open op 0 is send"},
	} {
		_, err := Pair(tc.ops)
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.err)
		}
	}
}
