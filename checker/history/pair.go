package history

import "fmt"

// Call is one invocation with its completion.
type Call struct {
	Invoke Op
	// Completion is the ok, fail or info op; zero while Pending.
	Completion Op
	// Pending: the history ended with the call open. Its outcome is
	// unknown, as an info completion's is.
	Pending bool
	_       struct{}
}

// Outcome is the completion's type, Info for a pending call.
func (c Call) Outcome() Type {
	if c.Pending {
		return Info
	}
	return c.Completion.Type
}

// Pair matches each invocation with the next completion of its process, and
// returns the calls in invocation order. A process has at most one call
// open: an invocation while one is open, a completion with none open, or a
// completion of another f is an error naming both ops.
func Pair(ops []Op) ([]Call, error) {
	// Most ops pair up: sized once, since a Call is two whole ops.
	calls := make([]Call, 0, len(ops)/2+1)
	open := make(map[int]int) // process -> its open call in calls
	for _, op := range ops {
		at, isOpen := open[op.Process]
		if op.Type == Invoke {
			if isOpen {
				return nil, fmt.Errorf("history: op %d: process %d invokes %s with op %d still open", op.Index, op.Process, op.F, calls[at].Invoke.Index)
			}
			open[op.Process] = len(calls)
			calls = append(calls, Call{Invoke: op, Pending: true})
			continue
		}
		if !isOpen {
			return nil, fmt.Errorf("history: op %d: process %d completes %s with no call open", op.Index, op.Process, op.F)
		}
		if inv := calls[at].Invoke; inv.F != op.F {
			return nil, fmt.Errorf("history: op %d: process %d completes %s, but its open op %d is %s", op.Index, op.Process, op.F, inv.Index, inv.F)
		}
		calls[at].Completion, calls[at].Pending = op, false
		delete(open, op.Process)
	}
	return calls, nil
}
