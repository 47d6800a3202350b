package history

import (
	"reflect"
	"strings"
	"testing"
)

func TestBuilder(t *testing.T) {
	k := Key{"t", 0}
	b := NewBuilder()
	b.Invoke(1, Send, Sends(NewSend(k, 7)))
	b.Invoke(2, Poll, Value{})
	if got := b.Open(); !reflect.DeepEqual(got, []int{1, 2}) {
		t.Fatalf("open %v", got)
	}
	fail := b.Fail(1, "NOT_LEADER")
	if fail.Value.Sends[0] != NewSend(k, 7) || fail.Error != "NOT_LEADER" || fail.F != Send {
		t.Fatalf("fail should repeat the invocation: %+v", fail)
	}
	b.SetTimeNs(1000)
	ok := b.Ok(2, Polls(Records(k)))
	if ok.TimeNs != 1000 || ok.Index != 3 {
		t.Fatalf("ok at %d index %d", ok.TimeNs, ok.Index)
	}
	ops := b.Ops()
	for i, op := range ops[:3] {
		if op.TimeNs != int64(i) || op.Index != i {
			t.Fatalf("op %d: time %d: before SetTimeNs the time is the index", i, op.TimeNs)
		}
	}
	ops[0].Process = 99
	if b.Ops()[0].Process == 99 {
		t.Fatal("Ops returned the builder's own slice")
	}
	if len(b.Open()) != 0 {
		t.Fatalf("open %v", b.Open())
	}
}

func TestBuilderPanics(t *testing.T) {
	k := Key{"t", 0}
	for _, tc := range []struct {
		name string
		fn   func(b *Builder)
		want string
	}{
		{"complete with nothing open", func(b *Builder) { b.Ok(1, Value{}) }, "no call open"},
		{"invoke twice", func(b *Builder) { b.Invoke(1, Poll, Value{}); b.Invoke(1, Poll, Value{}) }, "with op 0 open"},
		{"time goes back", func(b *Builder) { b.SetTimeNs(5); b.Invoke(1, Poll, Value{}); b.SetTimeNs(4) }, "before the last op's"},
		{"invalid op", func(b *Builder) { b.Invoke(1, Send, Sends(SendOp{Key: k, Value: 1})) }, "invocation carries offset 0"},
		{"complete as invoke", func(b *Builder) { b.Invoke(1, Poll, Value{}); b.Complete(1, Invoke, Value{}, "") }, "completes as an invoke"},
	} {
		func() {
			defer func() {
				r := recover()
				msg, _ := r.(string)
				if !strings.Contains(msg, tc.want) {
					t.Errorf("%s: panic %v, want one containing %q", tc.name, r, tc.want)
				}
			}()
			tc.fn(NewBuilder())
		}()
	}
}
