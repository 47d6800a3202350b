package simcluster

import (
	"slices"

	"github.com/gregor-dst/gregor/broker"
	"github.com/gregor-dst/gregor/sim"
)

// isrTracker answers R5's question for an acknowledged write: how many
// in-sync replicas could its leader have had when it acknowledged? The
// client only learns of the acknowledgement later, so the answer is the
// largest ISR any broker leading the partition claimed between the
// produce call and the acknowledgement: a write acknowledged while every
// leader's ISR stayed below min.insync.replicas breaks R5 for sure.
type isrTracker struct {
	// lead is, per partition and broker, the size of the ISR the broker
	// claims as leader (0: not leading, or down).
	lead map[partKey][]int
	// steps is, per partition, the largest claim over time: a step
	// function, a new entry at every change.
	steps map[partKey]*isrSteps
}

type isrSteps struct {
	at  []sim.Time
	max []int
	// from: answers before it are unknown (older steps were dropped).
	from sim.Time
}

// isrStepsMax bounds the steps kept per partition; the older half goes
// when it is reached.
const isrStepsMax = 1 << 12

func newISRTracker() *isrTracker {
	return &isrTracker{lead: map[partKey][]int{}, steps: map[partKey]*isrSteps{}}
}

// note takes broker id's claims from its state.
func (t *isrTracker) note(id int, st broker.State, now sim.Time) {
	seen := map[partKey]bool{}
	for _, p := range st.Partitions {
		k := partKey{p.Topic, p.Partition}
		seen[k] = true
		n := 0
		if p.Leader == st.NodeID {
			n = len(p.ISR)
		}
		t.set(k, id, n, now)
	}
	for _, k := range t.keys() {
		if !seen[k] {
			t.set(k, id, 0, now)
		}
	}
}

// down drops broker id's claims.
func (t *isrTracker) down(id int, now sim.Time) {
	for _, k := range t.keys() {
		t.set(k, id, 0, now)
	}
}

func (t *isrTracker) keys() []partKey {
	keys := make([]partKey, 0, len(t.lead))
	for k := range t.lead { //gregor:unordered-ok sorted below
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b partKey) int {
		if a.topic != b.topic {
			if a.topic < b.topic {
				return -1
			}
			return 1
		}
		return int(a.part - b.part)
	})
	return keys
}

func (t *isrTracker) set(k partKey, id, n int, now sim.Time) {
	lead := t.lead[k]
	for len(lead) <= id {
		lead = append(lead, 0)
	}
	t.lead[k] = lead
	if lead[id] == n {
		return
	}
	lead[id] = n
	m := slices.Max(lead)
	s := t.steps[k]
	if s == nil {
		s = &isrSteps{}
		t.steps[k] = s
	}
	if len(s.max) > 0 && s.max[len(s.max)-1] == m {
		return
	}
	if len(s.at) >= isrStepsMax {
		half := len(s.at) / 2
		s.from = s.at[half]
		s.at, s.max = slices.Clone(s.at[half:]), slices.Clone(s.max[half:])
	}
	s.at, s.max = append(s.at, now), append(s.max, m)
}

// maxSince is the largest ISR a leader of k claimed from since until now;
// known is false when that is older than what is kept.
func (t *isrTracker) maxSince(k partKey, since sim.Time) (n int, known bool) {
	s := t.steps[k]
	if s == nil {
		return 0, true
	}
	if since < s.from {
		return 0, false
	}
	// Start at the step in force just before since (conservative when
	// steps share the instant).
	i, _ := slices.BinarySearch(s.at, since)
	if i > 0 {
		i--
	}
	for _, m := range s.max[i:] {
		n = max(n, m)
	}
	return n, true
}
