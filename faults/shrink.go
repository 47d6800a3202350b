package faults

import "time"

// Shrink reduces a schedule that makes a run fail to a smaller one that
// still fails the same way (fails reports whether a candidate does): it
// drops steps, first in large chunks then one by one (delta debugging),
// then brings each remaining step earlier, which shortens fault windows.
// It tries at most runsMax candidates and returns the smallest failing
// schedule found with the number of runs it made.
func Shrink(s Schedule, fails func(Schedule) bool, runsMax int) (Schedule, int) {
	runs := 0
	try := func(c Schedule) bool {
		if runs >= runsMax {
			return false
		}
		runs++
		return fails(c)
	}
	for chunk := max(len(s.Faults)/2, 1); chunk >= 1; chunk /= 2 {
		for i := 0; i < len(s.Faults) && runs < runsMax; {
			c := without(s, i, chunk)
			if len(c.Faults) < len(s.Faults) && try(c) {
				s = c // keep i: the next chunk slid into place
				continue
			}
			i += chunk
		}
		if chunk == 1 {
			break
		}
	}
	for i := range s.Faults {
		for runs < runsMax {
			c, ok := earlier(s, i)
			if !ok || !try(c) {
				break
			}
			s = c
		}
	}
	return s, runs
}

func without(s Schedule, i, n int) Schedule {
	out := Schedule{Faults: append([]Fault(nil), s.Faults[:i]...)}
	out.Faults = append(out.Faults, s.Faults[min(i+n, len(s.Faults)):]...)
	return out
}

// earlier moves step i halfway towards the step before it (or time 0),
// keeping time order; false once it is within 10 ms of it.
func earlier(s Schedule, i int) (Schedule, bool) {
	prev := time.Duration(0)
	if i > 0 {
		prev = s.Faults[i-1].At
	}
	gap := s.Faults[i].At - prev
	if gap < 10*time.Millisecond {
		return s, false
	}
	out := Schedule{Faults: append([]Fault(nil), s.Faults...)}
	out.Faults[i].At = prev + gap/2
	return out, true
}
