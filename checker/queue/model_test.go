package queue

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/require"

	"github.com/gregor-dst/gregor/checker/history"
)

// modelPair is a good and a bad history for the log model; the bad one
// must be Illegal on key, the good one Ok everywhere. Most bad ones here
// have no anomaly Analyze can see: they break real-time order, which only
// the model checks.
type modelPair struct {
	name  string
	build func(h *hb, bad bool)
}

var modelPairs = []modelPair{
	{
		name: "a send lands below a send that finished before it began",
		build: func(h *hb, bad bool) {
			if bad {
				h.send(0, k0, 10, 1)
				h.send(1, k0, 11, 0)
				h.poll(2, k0, 0, 11, 1, 10)
				return
			}
			h.send(0, k0, 10, 0)
			h.send(1, k0, 11, 1)
			h.poll(2, k0, 0, 10, 1, 11)
		},
	},
	{
		name: "a poll returns a record before its send began",
		build: func(h *hb, bad bool) {
			if bad {
				h.poll(1, k0, 0, 10)
				h.send(0, k0, 10, 0)
				return
			}
			h.send(0, k0, 10, 0)
			h.poll(1, k0, 0, 10)
		},
	},
	{
		name: "a poll returns a record at its own high watermark",
		build: func(h *hb, bad bool) {
			h.send(0, k0, 10, 0)
			h.send(0, k0, 11, 1)
			hw := int64(2)
			if bad {
				hw = 1
			}
			h.pollHW(1, k0, hw, 0, 10, 1, 11)
		},
	},
	{
		name: "a send lands below the high watermark a finished poll saw",
		build: func(h *hb, bad bool) {
			h.sendInfo(0, k0, 10) // maybe at offset 0, maybe nowhere
			h.pollHW(1, k0, 1)
			off := int64(1)
			if bad {
				off = 0
			}
			h.send(0, k0, 11, off)
			h.poll(1, k0, off, 11)
		},
	},
	{
		name: "two polls disagree about an offset",
		build: func(h *hb, bad bool) {
			h.sendInfo(0, k0, 10)
			h.sendInfo(0, k0, 11)
			h.poll(1, k0, 0, 10)
			if bad {
				h.poll(2, k0, 0, 11)
				return
			}
			h.poll(2, k0, 1, 11)
		},
	},
	{
		name: "concurrent sends may land in either order",
		build: func(h *hb, bad bool) {
			h.sendStart(0, k0, 10)
			h.sendStart(1, k0, 11)
			if bad {
				// Both at offset 0: no order explains it.
				h.sendOk(1, k0, []int64{11}, 0)
				h.sendOk(0, k0, []int64{10}, 0)
				return
			}
			h.sendOk(1, k0, []int64{11}, 0) // 10 was invoked first but landed second
			h.sendOk(0, k0, []int64{10}, 1)
			h.poll(2, k0, 0, 11, 1, 10)
		},
	},
	{
		name: "a poll concurrent with a send may see it",
		build: func(h *hb, bad bool) {
			h.send(0, k0, 10, 0)
			h.sendStart(0, k0, 11)
			h.b.Invoke(1, history.Poll, history.Value{})
			if bad {
				// The poll may see the send in flight, but not at an offset
				// an acked send already holds.
				h.pollOk(1, k0, 0, 11)
				h.sendOk(0, k0, []int64{11}, 1)
				return
			}
			h.pollOk(1, k0, 0, 10, 1, 11)
			h.sendOk(0, k0, []int64{11}, 1)
			h.pollHW(2, k0, 2, 0, 10)
		},
	},
}

func TestModelPairs(t *testing.T) {
	for _, tc := range modelPairs {
		t.Run(tc.name, func(t *testing.T) {
			good := newHB()
			tc.build(good, false)
			if res := check(t, good.ops()); Linearizable(res) != porcupine.Ok {
				t.Fatalf("good history: %+v", res)
			}
			bad := newHB()
			tc.build(bad, true)
			res := check(t, bad.ops())
			if len(res) != 1 || res[0].Key != k0 || res[0].Result != porcupine.Illegal {
				t.Fatalf("bad history: %+v", res)
			}
			if Linearizable(res) != porcupine.Illegal {
				t.Fatalf("fold of %+v", res)
			}
		})
	}
}

// TestHighWatermarkMayGoBack: a poll's high watermark below one seen
// before is legal (a new leader learns it late; Kafka reports the lower
// one meanwhile), whether the earlier one was reported or implied by the
// records read. Swarm seed 594 failed on the second shape before.
func TestHighWatermarkMayGoBack(t *testing.T) {
	reported := newHB()
	reported.send(0, k0, 10, 0)
	reported.send(0, k0, 11, 1)
	reported.pollHW(1, k0, 2, 1, 11)
	reported.pollHW(2, k0, 1, 0, 10)
	read := newHB()
	read.send(0, k0, 10, 0)
	read.send(0, k0, 11, 1)
	read.poll(1, k0, 0, 10, 1, 11)
	read.pollHW(1, k0, 1) // from position 2: nothing, high watermark 1
	for name, h := range map[string]*hb{"reported": reported, "read": read} {
		res := check(t, h.ops())
		require.Equal(t, porcupine.Ok, Linearizable(res), "%s: %+v", name, res)
	}
}

// TestVisualizeKey: the HTML is written, for a failing and a passing key.
func TestVisualizeKey(t *testing.T) {
	dir := t.TempDir()
	h := newHB()
	modelPairs[0].build(h, true)
	path := filepath.Join(dir, "bad.html")
	verdict, err := VisualizeKey(h.ops(), k0, 0, path)
	if err != nil || verdict != porcupine.Illegal {
		t.Fatalf("verdict %v, err %v", verdict, err)
	}
	html, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(html), "<html") || !strings.Contains(string(html), "send 11") {
		t.Fatalf("html %d bytes, err %v", len(html), err)
	}
	h = newHB()
	modelPairs[0].build(h, false)
	if verdict, err := VisualizeKey(h.ops(), k0, 0, filepath.Join(dir, "good.html")); err != nil || verdict != porcupine.Ok {
		t.Fatalf("verdict %v, err %v", verdict, err)
	}
	if _, err := VisualizeKey(h.ops(), k1, 0, filepath.Join(dir, "none.html")); err == nil {
		t.Fatal("visualized a key the history never touched")
	}
}

// TestWindowsAgreeWithOneSearch: cutting a key's history at quiescent
// points gives the verdict a single search from the empty log gives, on
// generated histories and on corrupted copies of them.
func TestWindowsAgreeWithOneSearch(t *testing.T) {
	whole := porcupine.Model{
		Init:  func() any { return &logState{} },
		Step:  func(s, in, _ any) (bool, any) { ok, next := stepLog(s, in); return ok, next },
		Equal: statesEqual,
		Hash:  stateHash,
	}
	illegal := 0
	for seed := range uint64(40) {
		ops := generate(genConfig{calls: 150, processes: 4, keys: 2, seed: seed, latencyNsMax: 50_000, thinkNsMax: 40_000})
		if seed%2 == 1 {
			ops = corrupt(ops, seed)
		}
		byKey, err := modelOperations(ops)
		if err != nil {
			t.Fatal(err)
		}
		for k, kops := range byKey { //gregor:unordered-ok keys are checked independently
			windows := cutWindows(kops, 1+int(seed%3)*4)
			if len(windows) < 2 {
				t.Fatalf("seed %d key %s: one window; the test needs quiescent points", seed, k)
			}
			split := porcupine.CheckOperations(newModel(windows), kops)
			var plain []porcupine.Operation
			for _, op := range kops {
				op.Input = withBase(op.Input, nil)
				plain = append(plain, op)
			}
			one := porcupine.CheckOperations(whole, plain)
			if split != one {
				t.Fatalf("seed %d key %s: %d windows say %v, one search says %v", seed, k, len(windows), split, one)
			}
			if !split {
				illegal++
			}
			if seed%2 == 0 && !split {
				t.Fatalf("seed %d key %s: a generated history is not linearizable", seed, k)
			}
		}
	}
	if illegal == 0 {
		t.Fatal("no corrupted history was illegal: the corruption is too weak to test anything")
	}
}

// corrupt moves one acked send's offset up by one: a send that, in real
// time, may now land where a later one did.
func corrupt(ops []history.Op, seed uint64) []history.Op {
	out := make([]history.Op, len(ops))
	copy(out, ops)
	n := 0
	for i, op := range out {
		if op.Type == history.Ok && op.F == history.Send {
			n++
			if uint64(n) == 5+seed%7 {
				sends := append([]history.SendOp(nil), op.Value.Sends...)
				sends[0].Offset++
				out[i].Value = history.Sends(sends...)
				return out
			}
		}
	}
	return out
}

func check(t *testing.T, ops []history.Op) []KeyResult {
	t.Helper()
	res, err := CheckLinearizable(ops, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestTighteningKeepsVerdicts: narrowing intervals by the offsets
// (tighten) gives the verdict the history's own intervals give, on
// generated histories with much concurrency and on corrupted copies of
// them; and it does narrow.
func TestTighteningKeepsVerdicts(t *testing.T) {
	whole := porcupine.Model{
		Init:  func() any { return &logState{} },
		Step:  func(s, in, _ any) (bool, any) { ok, next := stepLog(s, in); return ok, next },
		Equal: statesEqual,
		Hash:  stateHash,
	}
	plain := func(kops []porcupine.Operation) []porcupine.Operation {
		var out []porcupine.Operation
		for _, op := range kops {
			op.Input = withBase(op.Input, nil)
			out = append(out, op)
		}
		return out
	}
	illegal, narrowed := 0, 0
	for seed := range uint64(60) {
		ops := generate(genConfig{calls: 120, processes: 6, keys: 2, seed: seed, latencyNsMax: 200_000, thinkNsMax: 20_000})
		switch seed % 3 {
		case 1:
			ops = corrupt(ops, seed)
		case 2:
			ops = corruptPoll(ops, seed)
		}
		raw, err := rawModelOperations(ops)
		require.NoError(t, err)
		tight, err := modelOperations(ops)
		require.NoError(t, err)
		for k := range raw { //gregor:unordered-ok keys are checked independently
			want := porcupine.CheckOperations(whole, plain(raw[k]))
			got := porcupine.CheckOperations(whole, plain(tight[k]))
			require.Equal(t, want, got, "seed %d key %s", seed, k)
			if !want {
				illegal++
			}
			for i := range raw[k] {
				if tight[k][i].Return-tight[k][i].Call < (raw[k][i].Return-raw[k][i].Call)*tieSteps {
					narrowed++
				}
			}
		}
	}
	require.NotZero(t, illegal, "no corrupted history was illegal")
	require.NotZero(t, narrowed, "nothing was narrowed")
	t.Logf("%d illegal keys, %d intervals narrowed", illegal, narrowed)
}

// corruptPoll changes the value of one record an ok poll returned.
func corruptPoll(ops []history.Op, seed uint64) []history.Op {
	out := make([]history.Op, len(ops))
	copy(out, ops)
	n := 0
	for i, op := range out {
		if op.Type != history.Ok || op.F != history.Poll {
			continue
		}
		for pi, p := range op.Value.Polls {
			if len(p.Records) == 0 {
				continue
			}
			n++
			if uint64(n) != 3+seed%5 {
				continue
			}
			polls := append([]history.Polled(nil), op.Value.Polls...)
			recs := append([]history.Record(nil), p.Records...)
			recs[0].Value += 1_000_000
			polls[pi].Records = recs
			out[i].Value = history.Polls(polls...)
			return out
		}
	}
	return out
}
