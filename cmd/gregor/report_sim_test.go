package main

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// faultsScenario gives a run a schedule with a fault of most kinds, one
// after the other, and a liveness bound of 1 ms after the heal-all: b0,
// stopped at 7 s, cannot serve again that soon, so the run fails liveness
// and gregor sim --out keeps it.
const faultsScenario = `seed: 5
brokers: 3
topics: 1
partitions: 2
producers: 1
records_per_second: 50
consumers: 1
poll_every: 50ms
safety: 8s
liveness: 1ms
schedule:
    - 500ms partition isolate b1
    - 2s heal
    - 2.5s crash b0
    - 4s restart b0
    - 4.5s pause b2
    - 5s resume b2
    - 5.5s clock-drift b1 200ppm
    - 6s clog b0>b2 1s
    - 7s stop b0
`

// TestReportSimFaults: gregor report over a real gregor sim --out
// directory shows the fault timeline, and shades the fault windows on the
// latency scatter: the scatter has far more colored (not grey) pixels
// than the same report without the schedule.
func TestReportSimFaults(t *testing.T) {
	dir := t.TempDir()
	scenario := filepath.Join(dir, "faults.yaml")
	require.NoError(t, os.WriteFile(scenario, []byte(faultsScenario), 0o644))
	simOut := filepath.Join(dir, "sim")
	out, err := gregorInProcess(t, "sim", "--scenario", scenario, "--out", simOut)
	var ex *exitError
	require.ErrorAs(t, err, &ex, out)
	require.Equal(t, exitLiveness, ex.code, out)

	html, figures := renderSimReport(t, simOut)
	for _, want := range []string{"<h3>Faults</h3>", "2.5s crash b0", "6s clog b0&gt;b2 1s", "7s stop b0", "8s heal all (the safety phase ends)",
		"Fault windows are shaded behind the points", "(recorded by gregor sim): steps and windows are drawn where they happened"} {
		assert.Contains(t, html, want)
	}
	require.Contains(t, figures, "seed-5-faults", "the fault timeline")
	require.Contains(t, figures, "seed-5-latency")

	require.NoError(t, os.Remove(filepath.Join(simOut, "seed-5", "scenario.yaml")))
	plainHTML, plain := renderSimReport(t, simOut)
	assert.Contains(t, plainHTML, "No scenario.yaml in")
	assert.NotContains(t, plain, "seed-5-faults")
	assert.Greater(t, tinted(figures["seed-5-latency"]), tinted(plain["seed-5-latency"])+20_000,
		"the shaded scatter is colored well beyond its points")
}

var figurePNG = regexp.MustCompile(`<img alt="([^"]+)" src="data:image/png;base64,([A-Za-z0-9+/=]+)">`)

// renderSimReport renders dir's report as HTML and decodes its figures
// by name.
func renderSimReport(t *testing.T, dir string) (string, map[string]image.Image) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "report.html")
	require.NoError(t, runReport(dir, path))
	page, err := os.ReadFile(path)
	require.NoError(t, err)
	figures := map[string]image.Image{}
	for _, m := range figurePNG.FindAllStringSubmatch(string(page), -1) {
		data, err := base64.StdEncoding.DecodeString(m[2])
		require.NoError(t, err)
		img, err := png.Decode(bytes.NewReader(data))
		require.NoError(t, err, m[1])
		figures[m[1]] = img
	}
	return string(page), figures
}

// tinted counts pixels with a hue: not white, black or the grey of the
// grid and text.
func tinted(img image.Image) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if max(r, g, bl)-min(r, g, bl) > 10<<8 {
				n++
			}
		}
	}
	return n
}
