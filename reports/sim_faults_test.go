package reports

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gregor-dst/gregor/faults"
)

// window is a faultWindow in brief, for the table below.
func window(family, lane string, startS, endS float64) string {
	return fmt.Sprintf("%s %s %g..%g", family, lane, startS, endS)
}

func TestFaultWindows(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []string
		want  []string
	}{
		{"a partition ends at a heal", []string{"1s partition isolate b1", "2s heal"},
			[]string{window("partition", "network", 1, 2)}},
		{"a partition replaces the one before", []string{"1s partition isolate b1", "2s partition halves b0 b1 b2"},
			[]string{window("partition", "network", 1, 2), window("partition", "network", 2, 10)}},
		{"a clog lasts its length, or until a heal", []string{"1s clog b0>b1 2s", "1.5s clog b1>b2 5s", "4s heal"},
			[]string{window("clog", "network", 1, 3), window("clog", "network", 1.5, 4)}},
		{"a crash or stop ends at the restart of that node", []string{"1s crash b0", "2s stop b1", "3s restart b1", "4s restart b0"},
			[]string{window("crash", "b0", 1, 4), window("stop", "b1", 2, 3)}},
		{"a pause ends at its resume", []string{"1s pause b2", "1.5s resume b1", "2s resume b2"},
			[]string{window("pause", "b2", 1, 2)}},
		{"clock changes replace each other until a reset", []string{"1s clock-offset b0 1s", "2s clock-drift b0 200ppm", "3s clock-reset b0"},
			[]string{window("clock", "b0", 1, 2), window("clock", "b0", 2, 3)}},
		{"the heal-all ends what is still active", []string{"1s crash b0", "2s pause b1", "3s partition isolate b2"},
			[]string{window("crash", "b0", 1, 10), window("pause", "b1", 2, 10), window("partition", "network", 3, 10)}},
		{"a slow disk outlives the heal-all, not the run", []string{"1s slow-disk b0 x8", "2s slow-disk b1 x4", "3s fast-disk b1"},
			[]string{window("slow-disk", "b0", 1, 12), window("slow-disk", "b1", 2, 3)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			names := []string{"b0", "b1", "b2"}
			sched, err := faults.ParseSchedule(tc.steps, func(n string) (int, bool) {
				i := slices.Index(names, n)
				return i, i >= 0
			})
			require.NoError(t, err)
			var got []string
			for _, w := range faultWindows(sched, func(i int) string { return names[i] }, 10, 12) {
				got = append(got, window(w.family, w.lane, w.startS, w.endS))
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

// A run stopped by a violation ends every window where it ended, and the
// steps after it never happened.
func TestFaultWindowsRunEndsEarly(t *testing.T) {
	sched := faults.Schedule{Faults: []faults.Fault{{At: 0, Kind: faults.Crash, Nodes: []int{0}}, {At: 9 * time.Second, Kind: faults.Pause, Nodes: []int{1}}}}
	ws := faultWindows(sched, func(i int) string { return fmt.Sprintf("b%d", i) }, 15, 5)
	require.Len(t, ws, 1)
	assert.Equal(t, window("crash", "b0", 0, 5), window(ws[0].family, ws[0].lane, ws[0].startS, ws[0].endS))
}

// simDirWithFaults is simDir with seed 7's scenario: a partition, a crash
// and a pause at separate times over its history (100 ms … 4 s).
func simDirWithFaults(t *testing.T) string {
	t.Helper()
	dir := simDir(t)
	scenario := "seed: 7\nrecords_per_second: 50\nconsumers: 1\npoll_every: 100ms\nsafety: 5s\nschedule:\n" +
		"    - 0s partition isolate b1\n    - 1s heal\n    - 1.5s crash b0\n    - 2.5s restart b0\n    - 3s pause b2\n    - 3.5s resume b2\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "seed-7", "scenario.yaml"), []byte(scenario), 0o644))
	return dir
}

func TestSimReportFaults(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, SimReport(simDirWithFaults(t), &out, Options{Format: HTML}))
	html := out.String()
	containsAll(t, html, "<h3>Faults</h3>", "the history&#39;s first call, at 0.100 s, stands in for it",
		"within 20ms of the phase", "<td class=\"n\">1.600</td><td>1.5s crash b0</td>", "5s heal all (the safety phase ends)",
		`alt="seed-7-faults"`, "Fault windows are shaded behind the points")
	imgs := embeddedImages(t, html)
	require.Len(t, imgs, 2, "the timeline, then the scatter")
	timeline, scatter := imgs[0], imgs[1]
	for _, family := range []string{"partition", "crash", "pause"} {
		assert.Greater(t, colored(timeline, overWhite(familyColor(family, timelineAlpha))), 1000, "timeline bar: %s", family)
		assert.Greater(t, colored(scatter, overWhite(familyColor(family, shadeAlpha))), 5000, "scatter shading: %s", family)
	}
	assert.Zero(t, colored(scatter, overWhite(familyColor("stop", shadeAlpha))), "no stop in the schedule")
	// Jepsen's outcome colors still show over the shading.
	assert.Positive(t, colored(scatter, outcomeColors["ok"]))
}

func TestSimReportFaultsMissingOrBad(t *testing.T) {
	dir := simDir(t)
	var out bytes.Buffer
	require.NoError(t, SimReport(dir, &out, Options{Format: HTML}))
	containsAll(t, out.String(), "No scenario.yaml in ")

	for _, tc := range []struct{ scenario, want string }{
		{"safety: 5s\nschedule: []\n", "The schedule has no fault steps."},
		{"safety: soon\n", `safety &#34;soon&#34; is not a duration`},
		{"safety: 5s\nschedule: [\"1s explode b0\"]\n", "unknown kind &#34;explode&#34;"},
	} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "seed-7", "scenario.yaml"), []byte(tc.scenario), 0o644))
		out.Reset()
		require.NoError(t, SimReport(dir, &out, Options{Format: HTML}))
		containsAll(t, out.String(), tc.want)
		assert.Len(t, embeddedImages(t, out.String()), 1, "the scatter alone, unshaded")
		assert.False(t, strings.Contains(out.String(), "are shaded"), tc.scenario)
	}
}

// overWhite is c drawn over a white background.
func overWhite(c color.NRGBA) color.RGBA {
	a := float64(c.A) / 255
	mix := func(v uint8) uint8 { return uint8(math.Round(float64(v)*a + 255*(1-a))) }
	return color.RGBA{mix(c.R), mix(c.G), mix(c.B), 255}
}

// A run a violation stopped at 2 s: the windows end there, the later
// steps are marked as never reached, and there is no heal-all.
func TestSimReportFaultsRunStoppedEarly(t *testing.T) {
	dir := simDirWithFaults(t)
	path := filepath.Join(dir, "seed-7", "result.json")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, bytes.Replace(data, []byte(`"sim_seconds":12.5`), []byte(`"sim_seconds":2`), 1), 0o644))
	var out bytes.Buffer
	require.NoError(t, SimReport(dir, &out, Options{Format: HTML}))
	html := out.String()
	containsAll(t, html, "<td>3s pause b2 (not reached: the run ended first)</td>", "The run ended at 2.000 s, before that heal-all")
	assert.NotContains(t, html, "heal all (the safety phase ends)")
	imgs := embeddedImages(t, html)
	require.Len(t, imgs, 2)
	assert.Greater(t, colored(imgs[1], overWhite(familyColor("crash", shadeAlpha))), 1000, "the crash, cut at the run's end")
	assert.Zero(t, colored(imgs[1], overWhite(familyColor("pause", shadeAlpha))), "the pause never happened")
}

// A result.json that records the safety phase's start places the steps
// there, not at the history's first call.
func TestSimReportFaultsRecordedStart(t *testing.T) {
	dir := simDirWithFaults(t)
	path := filepath.Join(dir, "seed-7", "result.json")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, bytes.Replace(data, []byte(`"seed":7,`), []byte(`"safety_start_ns":80000000,"seed":7,`), 1), 0o644))
	var out bytes.Buffer
	require.NoError(t, SimReport(dir, &out, Options{Format: HTML}))
	html := out.String()
	containsAll(t, html, "at 0.080 s of simulated time (recorded by gregor sim)",
		"<td class=\"n\">1.580</td><td>1.5s crash b0</td>", "<td class=\"n\">5.080</td><td>5s heal all (the safety phase ends)</td>")
	assert.NotContains(t, html, "stands in for it")
	assert.Len(t, embeddedImages(t, html), 2, "the timeline, then the scatter")
}
