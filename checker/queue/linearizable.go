package queue

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/gregor-dst/gregor/checker/history"
)

// KeyResult is the linearizability verdict for one key.
type KeyResult struct {
	Key history.Key
	// Result is porcupine.Ok, Illegal, or Unknown (the timeout ran out).
	Result porcupine.CheckResult
	// Operations is how many model operations the key had (one per acked
	// send micro-op, one per poll that returned the key); Windows how many
	// independent pieces they were checked in.
	Operations int
	Windows    int
	_          struct{}
}

// CheckLinearizable checks each key's history against the log model
// (stepLog), keys in sorted order. The timeout applies to each key on its
// own; zero means none. With a timeout the verdict can be Unknown, and
// which keys finish in time depends on the machine: treat Unknown as "not
// shown wrong", never as a failure.
//
// What goes in: acked send micro-ops with an offset, and ok polls. Sends
// that failed are left out (the anomaly analysis reports a poll that saw
// one), and so are sends with an unknown outcome: porcupine's convention
// would give them a return time at the end of the history and accept any
// offset, which admits exactly what leaving them out admits (a poll may
// show their record, at an offset nobody else holds) while costing the
// search a pending operation to the end. The one thing lost is their
// invocation time as a bound on when their record may first be seen.
// Polls that did not complete ok said nothing, and are left out too.
func CheckLinearizable(ops []history.Op, timeout time.Duration) ([]KeyResult, error) {
	byKey, err := modelOperations(ops)
	if err != nil {
		return nil, err
	}
	var results []KeyResult
	for _, k := range slices.SortedFunc(maps.Keys(byKey), history.Key.Compare) {
		windows := cutWindows(byKey[k], windowOpsMin)
		res := porcupine.CheckOperationsTimeout(newModel(windows), byKey[k], timeout)
		results = append(results, KeyResult{Key: k, Result: res, Operations: len(byKey[k]), Windows: len(windows)})
	}
	return results, nil
}

// Linearizable folds per-key verdicts: Illegal if any key is, else Unknown
// if any is, else Ok.
func Linearizable(results []KeyResult) porcupine.CheckResult {
	verdict := porcupine.Ok
	for _, r := range results {
		switch r.Result {
		case porcupine.Illegal:
			return porcupine.Illegal
		case porcupine.Unknown:
			verdict = porcupine.Unknown
		}
	}
	return verdict
}

// VisualizeKey writes porcupine's interactive HTML for one key to path, and
// returns the key's verdict. When the key is Illegal, only the windows that
// fail are drawn: the page stays small enough to open however long the run.
// Otherwise every window is drawn.
func VisualizeKey(ops []history.Op, key history.Key, timeout time.Duration, path string) (porcupine.CheckResult, error) {
	byKey, err := modelOperations(ops)
	if err != nil {
		return "", err
	}
	keyOps, ok := byKey[key]
	if !ok {
		return "", fmt.Errorf("queue: no sends or polls of %s in the history", key)
	}
	windows := cutWindows(keyOps, windowOpsMin)
	verdict := porcupine.Ok
	var failing [][]porcupine.Operation
	for _, w := range windows {
		switch porcupine.CheckOperationsTimeout(newModel([][]porcupine.Operation{w}), w, timeout) {
		case porcupine.Illegal:
			verdict = porcupine.Illegal
			failing = append(failing, w)
		case porcupine.Unknown:
			if verdict == porcupine.Ok {
				verdict = porcupine.Unknown
			}
		}
	}
	drawn := windows
	if len(failing) > 0 {
		drawn = failing
	}
	model := newModel(drawn)
	_, info := porcupine.CheckOperationsVerbose(model, slices.Concat(drawn...), timeout)
	if err := porcupine.VisualizePath(model, info, path); err != nil {
		return verdict, fmt.Errorf("queue: visualizing %s: %w", key, err)
	}
	return verdict, nil
}

// modelOperations turns a history into model operations per key. ClientId
// is the process's rank among the key's processes (the visualization wants
// small ids). Intervals are narrowed to where the model lets each
// operation linearize (tighten), so the visualization draws those, not
// the raw invocation and completion times.
func modelOperations(ops []history.Op) (map[history.Key][]porcupine.Operation, error) {
	byKey, err := rawModelOperations(ops)
	if err != nil {
		return nil, err
	}
	for _, kops := range byKey { //gregor:unordered-ok keys are narrowed independently
		tighten(kops)
	}
	return byKey, nil
}

// rawModelOperations is modelOperations with the history's own intervals.
func rawModelOperations(ops []history.Op) (map[history.Key][]porcupine.Operation, error) {
	calls, err := history.Pair(ops)
	if err != nil {
		return nil, err
	}
	byKey := make(map[history.Key][]porcupine.Operation)
	add := func(k history.Key, c history.Call, input any) {
		byKey[k] = append(byKey[k], porcupine.Operation{
			ClientId: c.Invoke.Process, Input: input,
			Call: c.Invoke.TimeNs, Return: c.Completion.TimeNs,
		})
	}
	for _, c := range calls {
		if c.Outcome() != history.Ok {
			continue
		}
		switch c.Invoke.F {
		case history.Send:
			for _, s := range c.Completion.Value.Sends {
				if s.Acked() {
					add(s.Key, c, &sendIn{value: s.Value, offset: s.Offset, op: c.Completion.Index})
				}
			}
		case history.Poll:
			for _, p := range c.Completion.Value.Polls {
				if len(p.Records) > 0 || p.HasHighWatermark {
					add(p.Key, c, &pollIn{records: p.Records, hw: p.HighWatermark, hasHW: p.HasHighWatermark, op: c.Completion.Index})
				}
			}
		}
	}
	for k, kops := range byKey { //gregor:unordered-ok each key's operations are renumbered independently
		byKey[k] = denseClients(kops)
	}
	return byKey, nil
}

func denseClients(ops []porcupine.Operation) []porcupine.Operation {
	var procs []int
	for _, op := range ops {
		procs = append(procs, op.ClientId)
	}
	slices.Sort(procs)
	procs = slices.Compact(procs)
	for i := range ops {
		ops[i].ClientId, _ = slices.BinarySearch(procs, ops[i].ClientId)
	}
	return ops
}

// windowOpsMin keeps windows from being tiny: porcupine runs each on its
// own goroutine, and a run of quiescent points one op apart would cost a
// goroutine per op. A window of this size is still cheap to search, the
// state being persistent.
const windowOpsMin = 256

// cutWindows sorts a key's operations by call time and cuts them where
// none is pending, once a window holds opsMin: every operation before the
// cut returned before every one after it was called, so all of the first
// window linearizes before all of the second. Since a state is a function
// of the set of operations applied (logState), the second window starts
// from the fold of the first, whatever order the first takes: windows are
// checked independently, and the search's cost depends on the concurrency,
// not on the length of the run. Each input gets its window's base state.
func cutWindows(ops []porcupine.Operation, opsMin int) [][]porcupine.Operation {
	byCall := func(a, b porcupine.Operation) int {
		if c := cmp.Compare(a.Call, b.Call); c != 0 {
			return c
		}
		return cmp.Compare(a.Return, b.Return)
	}
	// Calls come in invocation order, so this is usually sorted already;
	// sorting anyway would move every operation (write barriers and all).
	if !slices.IsSortedFunc(ops, byCall) {
		slices.SortStableFunc(ops, byCall)
	}
	var windows [][]porcupine.Operation
	start := 0
	returnMax := int64(-1 << 63)
	for i, op := range ops {
		// Intervals are closed: an operation called at the instant another
		// returns is concurrent with it.
		if i-start >= opsMin && returnMax < op.Call {
			windows = append(windows, ops[start:i])
			start = i
		}
		returnMax = max(returnMax, op.Return)
	}
	if start < len(ops) {
		windows = append(windows, ops[start:])
	}
	base := &logState{}
	for _, w := range windows {
		for i := range w {
			setBase(w[i].Input, base)
		}
		base = fold(base, w)
	}
	return windows
}

// setBase gives an input its window's base state, in place: each input
// belongs to one key's operations and one window.
func setBase(input any, base *logState) {
	switch in := input.(type) {
	case *sendIn:
		in.base = base
	case *pollIn:
		in.base = base
	default:
		panic(fmt.Sprintf("queue: model input %T", input))
	}
}

// fold applies a window's operations without checking them: the state any
// legal linearization of the window ends in. (If the window is illegal the
// key fails anyway, and what later windows start from no longer matters.)
func fold(s *logState, window []porcupine.Operation) *logState {
	next := *s
	put := func(offset, value int64) {
		if _, ok := next.log.get(offset); !ok {
			next.log = next.log.set(offset, value)
			next.records++
			next.hash ^= mix(offset, value)
		}
	}
	for _, op := range window {
		switch in := op.Input.(type) {
		case *sendIn:
			put(in.offset, in.value)
			next.end = max(next.end, in.offset+1)
		case *pollIn:
			for _, r := range in.records {
				put(r.Offset, r.Value)
				next.hw = max(next.hw, r.Offset+1)
			}
			if in.hasHW {
				next.hw = max(next.hw, in.hw)
			}
		}
	}
	return &next
}
