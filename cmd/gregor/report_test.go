package main

import (
	"bytes"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestReportRendersInChromium: gregor bench on two targets, then gregor
// report, and the page rendered by headless Chromium (Debian's chromium,
// installed by scripts/install-deps): every embedded chart decodes in the
// browser with a real size, and the screenshot is a drawn page, not a
// blank one.
func TestReportRendersInChromium(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (scripts/install-deps installs it)")
	}
	bin := gregorBinary(t)
	dir := t.TempDir()
	out, err := exec.Command(bin, "bench", "--workload", "1-topic-16-partitions-1kb",
		"--target", "synthetic:ackDelay=2ms", "--target", "kfake",
		"--duration", "3s", "--warmup", "0s", "--window", "1s", "--limits-duration", "200ms", "--out", dir).CombinedOutput()
	require.NoError(t, err, "%s", out)
	report := filepath.Join(dir, "report.html")
	out, err = exec.Command(bin, "report", "--in", dir, "--out", report).CombinedOutput()
	require.NoError(t, err, "%s", out)

	// A copy of the page that writes, once loaded, how many of its images
	// the browser decoded to a real size into the title.
	page, err := os.ReadFile(report)
	require.NoError(t, err)
	probe := filepath.Join(dir, "probe.html")
	script := `<script>window.addEventListener("load",()=>{const im=[...document.images];` +
		`document.title="decoded "+im.filter(i=>i.naturalWidth>100&&i.naturalHeight>100).length+" of "+im.length})</script>`
	require.NoError(t, os.WriteFile(probe, append(page, script...), 0o644))
	dom, err := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", "file://"+probe).Output()
	require.NoError(t, err)
	m := regexp.MustCompile(`decoded (\d+) of (\d+)`).FindSubmatch(dom)
	require.NotNil(t, m, "the probe ran")
	decoded, _ := strconv.Atoi(string(m[1]))
	total, _ := strconv.Atoi(string(m[2]))
	require.GreaterOrEqual(t, total, 8, "time series and quantile charts")
	require.Equal(t, total, decoded, "every chart decodes in the browser")

	shot := filepath.Join(dir, "shot.png")
	out, err = exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		"--screenshot="+shot, "--window-size=1280,8000", "file://"+report).CombinedOutput()
	require.NoError(t, err, "%s", out)
	data, err := os.ReadFile(shot)
	require.NoError(t, err)
	img, err := png.Decode(bytes.NewReader(data))
	require.NoError(t, err)
	colors := map[uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colors[r>>8<<16|g>>8<<8|bl>>8] = true
		}
	}
	require.Greater(t, len(colors), 50, "a drawn page: text, tables and coloured chart lines")
	require.True(t, strings.Contains(string(page), "kfake") && strings.Contains(string(page), "synthetic"))
}
