package queue

import (
	"slices"
	"strings"
	"testing"

	"github.com/gregor-dst/gregor/checker/history"
)

// pair is a good and a bad history that differ in one step. The bad one
// must be reported as kind, with a witness holding the ops build returned;
// the good one must be valid with no anomaly of that kind.
type pair struct {
	name  string
	kind  Kind
	build func(h *hb, bad bool) (offending []int)
	// explanation is a fragment the bad anomaly's explanation must hold.
	explanation string
}

// threeSends acks 10, 11, 12 at offsets 0, 1, 2 of k0 from process 0.
func threeSends(h *hb) (sends []int) {
	for i := range int64(3) {
		sends = append(sends, h.send(0, k0, 10+i, i))
	}
	return sends
}

var pairs = []pair{
	{
		name: "a poll reads past an acked send it never returned", kind: LostWrite,
		explanation: "value 11 acked at offset 1",
		build: func(h *hb, bad bool) []int {
			sends := threeSends(h)
			h.poll(1, k0, 0, 10)
			if bad {
				return []int{sends[1], h.poll(2, k0, 2, 12)} // a new consumer: no skip to blame
			}
			h.poll(2, k0, 1, 11, 2, 12)
			return nil
		},
	},
	{
		name: "one value at two offsets", kind: Duplicate,
		explanation: "value 10 is at offsets 0",
		build: func(h *hb, bad bool) []int {
			s0 := h.send(0, k0, 10, 0)
			h.send(0, k0, 11, 1)
			if bad {
				return []int{s0, h.poll(1, k0, 0, 10, 1, 11, 2, 10)}
			}
			h.poll(1, k0, 0, 10, 1, 11)
			return nil
		},
	},
	{
		name: "a poll disagrees with a send about an offset", kind: InconsistentOffsets,
		explanation: "offset 0 holds 10",
		build: func(h *hb, bad bool) []int {
			s0 := h.send(0, k0, 10, 0)
			if bad {
				h.sendInfo(2, k0, 99) // the poll's value has a writer, which may have happened
				return []int{s0, h.poll(1, k0, 0, 99)}
			}
			h.poll(1, k0, 0, 10)
			return nil
		},
	},
	{
		name: "a poll sees a send that failed", kind: AbortedRead,
		explanation: "send of 10 failed",
		build: func(h *hb, bad bool) []int {
			failed := h.sendFail(0, k0, 10)
			h.send(0, k0, 11, 0)
			if bad {
				return []int{failed, h.poll(1, k0, 0, 11, 1, 10)}
			}
			h.poll(1, k0, 0, 11)
			return nil
		},
	},
	{
		name: "a process's later send lands below its earlier one", kind: NonmonotonicSend,
		explanation: "got offset 0 (op 3) after its send got offset 1 (op 1)",
		build: func(h *hb, bad bool) []int {
			if bad {
				first, second := h.send(0, k0, 10, 1), h.send(0, k0, 11, 0)
				h.poll(1, k0, 0, 11, 1, 10)
				return []int{first, second}
			}
			h.send(0, k0, 10, 0)
			h.send(0, k0, 11, 1)
			h.poll(1, k0, 0, 10, 1, 11)
			return nil
		},
	},
	{
		name: "one op's sends land out of order", kind: IntNonmonotonicSend,
		explanation: "sent 11 to offset 0 after a send to offset 1",
		build: func(h *hb, bad bool) []int {
			h.sendStart(0, k0, 10, 11)
			if bad {
				op := h.sendOk(0, k0, []int64{10, 11}, 1, 0)
				h.poll(1, k0, 0, 11, 1, 10)
				return []int{op}
			}
			h.sendOk(0, k0, []int64{10, 11}, 0, 1)
			h.poll(1, k0, 0, 10, 1, 11)
			return nil
		},
	},
	{
		name: "another producer's record lands between one op's sends", kind: IntSendSkip,
		explanation: "with offset 1 (value 12",
		build: func(h *hb, bad bool) []int {
			h.sendStart(0, k0, 10, 11)
			h.sendStart(1, k0, 12)
			if bad {
				other := h.sendOk(1, k0, []int64{12}, 1)
				op := h.sendOk(0, k0, []int64{10, 11}, 0, 2)
				h.poll(2, k0, 0, 10, 1, 12, 2, 11)
				return []int{op, other}
			}
			h.sendOk(1, k0, []int64{12}, 2)
			h.sendOk(0, k0, []int64{10, 11}, 0, 1)
			h.poll(2, k0, 0, 10, 1, 11, 2, 12)
			return nil
		},
	},
	{
		name: "a process's next poll skips a record", kind: PollSkip,
		explanation: "skipping offset 1 (value 11",
		build: func(h *hb, bad bool) []int {
			threeSends(h)
			h.assign(1, k0)
			first := h.poll(1, k0, 0, 10)
			h.poll(2, k0, 0, 10, 1, 11, 2, 12) // someone reads 11: not lost
			if bad {
				return []int{first, h.poll(1, k0, 2, 12)}
			}
			h.poll(1, k0, 1, 11, 2, 12)
			return nil
		},
	},
	{
		name: "a process's next poll goes back", kind: NonmonotonicPoll,
		explanation: "polled up to offset 1 (op 9), then from offset 1 (op 11)",
		build: func(h *hb, bad bool) []int {
			threeSends(h)
			h.assign(1, k0)
			first := h.poll(1, k0, 0, 10, 1, 11)
			if bad {
				return []int{first, h.poll(1, k0, 1, 11, 2, 12)}
			}
			h.poll(1, k0, 2, 12)
			return nil
		},
	},
	{
		name: "one poll skips a record", kind: IntPollSkip,
		explanation: "went from offset 0 to 2, skipping offset 1",
		build: func(h *hb, bad bool) []int {
			threeSends(h)
			h.poll(2, k0, 1, 11) // someone reads 11: not lost
			if bad {
				return []int{h.poll(1, k0, 0, 10, 2, 12)}
			}
			h.poll(1, k0, 0, 10, 1, 11, 2, 12)
			return nil
		},
	},
	{
		name: "one poll goes back", kind: IntNonmonotonicPoll,
		explanation: "returned offset 0 after offset 1",
		build: func(h *hb, bad bool) []int {
			h.send(0, k0, 10, 0)
			h.send(0, k0, 11, 1)
			if bad {
				return []int{h.poll(1, k0, 1, 11, 0, 10)}
			}
			h.poll(1, k0, 0, 10, 1, 11)
			return nil
		},
	},
	{
		name: "an acked send nobody polled", kind: Unseen,
		explanation: "1 acked sends never polled (values 12)",
		build: func(h *hb, bad bool) []int {
			sends := threeSends(h)
			if bad {
				h.poll(1, k0, 0, 10, 1, 11)
				return []int{sends[2]}
			}
			h.poll(1, k0, 0, 10, 1, 11, 2, 12)
			return nil
		},
	},
}

func TestAnomalyPairs(t *testing.T) {
	covered := make(map[Kind]bool)
	for _, tc := range pairs {
		covered[tc.kind] = true
		t.Run(tc.name, func(t *testing.T) {
			good := newHB()
			tc.build(good, false)
			res := analyze(t, good.ops(), Options{Allowed: []Kind{}})
			if !res.Valid || len(res.Anomalies) > 0 {
				t.Fatalf("good history: %s\n%s", res, anomalies(res))
			}

			bad := newHB()
			offending := tc.build(bad, true)
			res = analyze(t, bad.ops(), Options{})
			found := false
			for _, a := range res.Anomalies {
				if len(a.Witness) > witnessOpsMax {
					t.Errorf("witness of %d ops: %s", len(a.Witness), a)
				}
				if a.Kind != tc.kind {
					continue
				}
				found = true
				if !strings.Contains(a.Explanation, tc.explanation) {
					t.Errorf("explanation %q lacks %q", a.Explanation, tc.explanation)
				}
				for _, i := range offending {
					if !slices.ContainsFunc(a.Witness, func(op history.Op) bool { return op.Index == i }) {
						t.Errorf("witness lacks op %d: %s", i, a)
					}
				}
			}
			if !found {
				t.Fatalf("bad history: no %s\n%s", tc.kind, anomalies(res))
			}
			allowedByDefault := slices.Contains(DefaultAllowed(), tc.kind)
			if res.Valid != allowedByDefault {
				t.Errorf("bad history: valid %v, want %v: %s", res.Valid, allowedByDefault, res)
			}
			strict := analyze(t, bad.ops(), Options{Allowed: []Kind{}})
			if strict.Valid || strict.Failures[tc.kind] == 0 {
				t.Errorf("bad history with nothing allowed: %s", strict)
			}
			t.Logf("%s", anomalies(res))
		})
	}
	for _, k := range Kinds() {
		if !covered[k] {
			t.Errorf("no good/bad pair for %s", k)
		}
	}
}

// TestRebalancesAndUnknownOutcomes: the contexts in which a skip or a step
// back is expected, and the outcomes never guessed.
func TestRebalancesAndUnknownOutcomes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build func(h *hb)
		// want is "kind allowed|failing" per anomaly found, in order.
		want []string
	}{
		{
			name: "skip while subscribed is allowed",
			build: func(h *hb) {
				threeSends(h)
				h.subscribe(1, "t")
				h.poll(1, k0, 0, 10)
				h.poll(2, k0, 0, 10, 1, 11, 2, 12)
				h.poll(1, k0, 2, 12)
			},
			want: []string{"poll-skip allowed"},
		},
		{
			name: "going back after assigning again is allowed",
			build: func(h *hb) {
				threeSends(h)
				h.assign(1, k0)
				h.poll(1, k0, 0, 10, 1, 11)
				h.assign(1, k0, k1)
				h.poll(1, k0, 0, 10, 1, 11, 2, 12)
			},
			want: []string{"nonmonotonic-poll allowed"},
		},
		{
			name: "after assigning again, later pairs are checked",
			build: func(h *hb) {
				threeSends(h)
				h.assign(1, k0)
				h.poll(1, k0, 0, 10)
				h.assign(1, k0)
				h.poll(1, k0, 0, 10)
				h.poll(1, k0, 0, 10, 1, 11, 2, 12)
			},
			want: []string{"nonmonotonic-poll allowed", "nonmonotonic-poll failing"},
		},
		{
			name: "a skip after a poll of unknown outcome proves nothing",
			build: func(h *hb) {
				threeSends(h)
				h.poll(1, k0, 0, 10)
				h.pollInfo(1)
				h.poll(1, k0, 2, 12)
				h.poll(2, k0, 1, 11)
			},
		},
		{
			name: "going back after a poll of unknown outcome still fails",
			build: func(h *hb) {
				threeSends(h)
				h.poll(1, k0, 0, 10, 1, 11)
				h.pollInfo(1)
				h.poll(1, k0, 0, 10, 1, 11, 2, 12)
			},
			want: []string{"nonmonotonic-poll failing"},
		},
		{
			name: "a crashed client starts afresh",
			build: func(h *hb) {
				threeSends(h)
				h.poll(1, k0, 1, 11, 2, 12)
				h.crash(1)
				h.poll(1, k0, 0, 10)
			},
		},
		{
			name: "a send of unknown outcome is neither lost nor unseen",
			build: func(h *hb) {
				h.send(0, k0, 10, 0)
				h.sendInfo(0, k0, 11)
				h.send(0, k0, 12, 2)
				h.poll(1, k0, 0, 10, 2, 12)
			},
		},
		{
			name: "a send of unknown outcome may be polled",
			build: func(h *hb) {
				h.sendInfo(0, k0, 10)
				h.send(0, k0, 11, 1)
				h.poll(1, k0, 0, 10, 1, 11)
			},
		},
		{
			name: "a failed send nobody polls is fine",
			build: func(h *hb) {
				h.sendFail(0, k0, 10)
				h.send(0, k0, 11, 0)
				h.poll(1, k0, 0, 11)
			},
		},
		{
			name: "a pending send is an unknown outcome",
			build: func(h *hb) {
				h.send(0, k0, 11, 0)
				h.poll(1, k0, 0, 11, 1, 10)
				h.sendStart(0, k0, 10) // never completes
			},
		},
		{
			name: "dropping a key from the assignment forgets it",
			build: func(h *hb) {
				threeSends(h)
				h.assign(1, k0)
				h.poll(1, k0, 0, 10)
				h.assign(1, k1)
				h.assign(1, k0)
				h.poll(1, k0, 2, 12)
				h.poll(2, k0, 1, 11)
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHB()
			tc.build(h)
			res := analyze(t, h.ops(), Options{})
			var got []string
			for _, a := range res.Anomalies {
				verdict := "failing"
				if a.Allowed {
					verdict = "allowed"
				}
				got = append(got, string(a.Kind)+" "+verdict)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, want %q\n%s", got, tc.want, anomalies(res))
			}
			wantValid := !slices.ContainsFunc(tc.want, func(s string) bool { return strings.HasSuffix(s, "failing") })
			if res.Valid != wantValid {
				t.Fatalf("valid %v, want %v", res.Valid, wantValid)
			}
		})
	}
}

func TestAnalyzeRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build func(h *hb)
		err   string
	}{
		{
			name:  "a value sent twice",
			build: func(h *hb) { h.send(0, k0, 10, 0); h.send(1, k0, 10, 1) },
			err:   "value 10 sent to t-0 by op 1 and op 3",
		},
		{
			name: "a completion that changes the value",
			build: func(h *hb) {
				h.sendStart(0, k0, 10)
				h.sendOk(0, k0, []int64{11}, 0)
			},
			err: "op 1 send 0 is 11 to t-0, but op 0 asked 10 to t-0",
		},
		{
			name: "a completion that drops a send",
			build: func(h *hb) {
				h.sendStart(0, k0, 10, 11)
				h.sendOk(0, k0, []int64{10}, 0)
			},
			err: "op 1 completes 1 sends of op 0's 2",
		},
	} {
		h := newHB()
		tc.build(h)
		_, err := Analyze(h.ops(), Options{})
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.err)
		}
	}
	bad := []history.Op{{Index: 0, Process: 1, Type: history.Ok, F: history.Poll}}
	if _, err := Analyze(bad, Options{}); err == nil {
		t.Error("an unpaired completion was accepted")
	}
}

// TestListingIsBounded: counts stay exact, the list stops at the bound.
func TestListingIsBounded(t *testing.T) {
	h := newHB()
	for i := range int64(10) {
		h.send(0, k0, 100+i, i)
	}
	h.poll(1, k0, 9, 109)
	res := analyze(t, h.ops(), Options{ListedPerKindMax: 3})
	if res.Counts[LostWrite] != 9 || res.Failures[LostWrite] != 9 {
		t.Fatalf("counts %v failures %v", res.Counts, res.Failures)
	}
	listed := 0
	for _, a := range res.Anomalies {
		if a.Kind == LostWrite {
			listed++
		}
	}
	if listed != 3 {
		t.Fatalf("%d lost writes listed, want 3", listed)
	}
	if res.Unseen[k0] != 9 || res.Counts[Unseen] != 1 {
		t.Fatalf("unseen %v, count %d", res.Unseen, res.Counts[Unseen])
	}
	if got, want := res.String(), "invalid: lost-write 9, unseen 1"; got != want {
		t.Fatalf("summary %q, want %q", got, want)
	}
}

// TestWitnessIsCut: a witness poll keeps only its key and the records near
// the offsets in question.
func TestWitnessIsCut(t *testing.T) {
	h := newHB()
	for i := range int64(20) {
		h.send(0, k0, 100+i, i)
	}
	h.send(0, k1, 1, 0)
	h.b.Invoke(1, history.Poll, history.Value{})
	var recs []history.Record
	for i := range int64(20) {
		if i != 10 {
			recs = append(recs, history.Record{Offset: i, Value: 100 + i})
		}
	}
	h.b.Ok(1, history.Polls(history.Records(k0, recs...), history.Records(k1, history.Record{Offset: 0, Value: 1})))
	res := analyze(t, h.ops(), Options{})
	var skip *Anomaly
	for i := range res.Anomalies {
		if res.Anomalies[i].Kind == IntPollSkip {
			skip = &res.Anomalies[i]
		}
	}
	if skip == nil {
		t.Fatalf("no int-poll-skip: %s", anomalies(res))
	}
	polls := skip.Witness[0].Value.Polls
	if len(polls) != 1 || polls[0].Key != k0 {
		t.Fatalf("witness poll keeps keys %v", polls)
	}
	var offsets []int64
	for _, r := range polls[0].Records {
		offsets = append(offsets, r.Offset)
	}
	if want := []int64{7, 8, 9, 11, 12, 13}; !slices.Equal(offsets, want) {
		t.Fatalf("witness records at %v, want %v", offsets, want)
	}
}

func analyze(t *testing.T, ops []history.Op, opts Options) Result {
	t.Helper()
	res, err := Analyze(ops, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func anomalies(res Result) string {
	var lines []string
	for _, a := range res.Anomalies {
		lines = append(lines, "  "+a.String())
	}
	return strings.Join(lines, "\n")
}

// TestAnalyzeIsDeterministic: the same history gives the same report,
// whatever order the maps inside happen to iterate in.
func TestAnalyzeIsDeterministic(t *testing.T) {
	ops := generate(genConfig{calls: 2000, processes: 6, keys: 4, seed: 3})
	// Corrupt every 50th ok poll: drop its first record of each key and
	// change the value of its last, for a spread of anomalies.
	n := 0
	for i, op := range ops {
		if op.Type != history.Ok || op.F != history.Poll {
			continue
		}
		if n++; n%50 != 0 {
			continue
		}
		var polls []history.Polled
		for _, p := range op.Value.Polls {
			recs := slices.Clone(p.Records)
			if len(recs) > 1 {
				recs = recs[1:]
				recs[len(recs)-1].Value += 1_000_000
			}
			polls = append(polls, history.Polled{Key: p.Key, Records: recs})
		}
		ops[i].Value = history.Polls(polls...)
	}
	first := analyze(t, ops, Options{})
	if first.Valid || len(first.Anomalies) == 0 {
		t.Fatalf("the corruption found nothing: %s", first)
	}
	for range 5 {
		again := analyze(t, ops, Options{})
		if again.String() != first.String() || anomalies(again) != anomalies(first) {
			t.Fatalf("reports differ:\n%s\n%s\n---\n%s\n%s", first, anomalies(first), again, anomalies(again))
		}
	}
	t.Logf("%s", first)
}
