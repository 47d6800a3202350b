package faults

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func bName(i int) string { return "b" + strconv.Itoa(i) }

func bIndex(s string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimPrefix(s, "b"))
	return n, err == nil && strings.HasPrefix(s, "b") && n >= 0 && n < 5
}

// TestFormatParseRoundTrip: every step Format writes, ParseFault reads back.
func TestFormatParseRoundTrip(t *testing.T) {
	steps := []Fault{
		{At: 1500 * time.Millisecond, Kind: Partition, Shape: Isolate, Nodes: []int{0}},
		{At: 2 * time.Second, Kind: Partition, Shape: Halves, Nodes: []int{2, 0, 1}},
		{At: 2 * time.Second, Kind: Partition, Shape: OneWay, Nodes: []int{1, 2}},
		{At: 3 * time.Second, Kind: Heal},
		{At: 4 * time.Second, Kind: Crash, Nodes: []int{1}},
		{At: 5 * time.Second, Kind: Restart, Nodes: []int{1}},
		{At: 6 * time.Second, Kind: ClockOffset, Nodes: []int{2}, Offset: -3 * time.Second},
		{At: 7 * time.Second, Kind: ClockDrift, Nodes: []int{2}, DriftPpm: 250},
		{At: 8 * time.Second, Kind: ClockJump, Nodes: []int{2}, Offset: time.Minute},
		{At: 9 * time.Second, Kind: Pause, Nodes: []int{0}},
		{At: 10 * time.Second, Kind: Clog, Nodes: []int{2, 0}, Offset: 750 * time.Millisecond},
		{At: 11 * time.Second, Kind: SlowDisk, Nodes: []int{1}, Factor: 17},
		{At: 12 * time.Second, Kind: FastDisk, Nodes: []int{1}},
	}
	for _, f := range steps {
		line := f.Format(bName)
		got, err := ParseFault(line, bIndex)
		require.NoError(t, err, line)
		require.Equal(t, f, got, line)
	}
}

func TestParseFaultErrors(t *testing.T) {
	for _, line := range []string{"", "1s", "x crash b0", "1s explode b0", "1s crash", "1s crash b9",
		"1s partition square b0", "1s clock-drift b0 fast", "1s heal b0", "-1s crash b0",
		"1s clog b0 1s", "1s clog b0>b0 1s", "1s clog b0>b1 never", "1s slow-disk b0 8", "1s slow-disk b0 x0"} {
		_, err := ParseFault(line, bIndex)
		require.Error(t, err, line)
	}
	_, err := ParseSchedule([]string{"2s crash b0", "1s restart b0"}, bIndex)
	require.ErrorContains(t, err, "before")
}

// TestShrinkFindsTheCulprit: a run that fails whenever b1 crashes shrinks
// to that one step, moved as early as it goes.
func TestShrinkFindsTheCulprit(t *testing.T) {
	var s Schedule
	for i := range 20 {
		s.Faults = append(s.Faults, Fault{At: time.Duration(i+1) * time.Second, Kind: Crash, Nodes: []int{i % 3}})
	}
	fails := func(c Schedule) bool {
		for _, f := range c.Faults {
			if f.Kind == Crash && f.Nodes[0] == 1 && f.At >= 0 {
				return true
			}
		}
		return false
	}
	got, runs := Shrink(s, fails, 500)
	require.Len(t, got.Faults, 1)
	require.Equal(t, 1, got.Faults[0].Nodes[0])
	require.Less(t, got.Faults[0].At, 20*time.Millisecond)
	require.LessOrEqual(t, runs, 500)

	// A budget stops it early, still failing.
	got, runs = Shrink(s, fails, 3)
	require.Equal(t, 3, runs)
	require.True(t, fails(got))
}
