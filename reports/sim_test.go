package reports

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gregor-dst/gregor/checker/history"
)

// simDir fabricates a `gregor sim --out` directory: seed 7 failed with a
// lost write, seed 3 passed, seed 12 has a broken result.json.
func simDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	seed7 := filepath.Join(dir, "seed-7")
	require.NoError(t, os.MkdirAll(seed7, 0o755))
	writeJSON(t, filepath.Join(seed7, "result.json"), map[string]any{
		"seed": 7, "verdict": "correctness", "trace_hash": "00000000deadbeef",
		"anomalies": []map[string]any{{
			"kind": "lost-write", "partition": "t-0",
			"witness": []string{"acked send of 3 at offset 1 never read", `{"index":1,"type":"ok","f":"send"}`},
		}},
		"sim_seconds": 12.5, "wall_seconds": 0.4, "events": 12345, "ops": 5, "faults": 2,
		"options": "brokers=3 partitions=1 rf=3 faults=partition,crash", "acked": 2, "failed": 1, "ambiguous": 1,
		"elections": 2, "linearizable": "illegal: t-0", "problem": "lost-write on t-0",
		"check": "correctness:lost-write", "replay": "gregor sim --seed 7",
	})
	writeHistory(t, filepath.Join(seed7, "history.jsonl"))
	require.NoError(t, os.WriteFile(filepath.Join(seed7, "porcupine-t-0.html"), []byte("<html></html>"), 0o644))

	seed3 := filepath.Join(dir, "seed-3")
	require.NoError(t, os.MkdirAll(seed3, 0o755))
	writeJSON(t, filepath.Join(seed3, "result.json"), map[string]any{"seed": 3, "verdict": "pass", "anomalies": []any{}, "ops": 40})

	seed12 := filepath.Join(dir, "seed-12")
	require.NoError(t, os.MkdirAll(seed12, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(seed12, "result.json"), []byte("{"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "shrunk-seed-7.yaml"), []byte("x: 1\n"), 0o644))
	return dir
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := json.Marshal(v)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, append(data, '\n'), 0o644))
}

// writeHistory: two acked sends, a failed one, an info one, an ok poll
// and a call still open at the end.
func writeHistory(t *testing.T, path string) {
	t.Helper()
	key := history.Key{Topic: "t", Partition: 0}
	b := history.NewBuilder()
	at := func(ms int64) { b.SetTimeNs(ms * 1_000_000) }
	at(100)
	b.Invoke(1, history.Send, history.Sends(history.NewSend(key, 1)))
	b.Invoke(2, history.Send, history.Sends(history.NewSend(key, 2)))
	at(105)
	b.Ok(1, history.Sends(history.AckedSend(key, 1, 0)))
	at(140)
	b.Ok(2, history.Sends(history.AckedSend(key, 2, 1)))
	at(1500)
	b.Invoke(1, history.Send, history.Sends(history.NewSend(key, 3)))
	b.Invoke(3, history.Send, history.Sends(history.NewSend(key, 4)))
	at(1520)
	b.Fail(1, "NOT_LEADER_FOR_PARTITION")
	at(4000)
	b.Info(3, "timeout")
	b.Invoke(2, history.Poll, history.Value{})
	at(4002)
	b.Ok(2, history.Polls(history.Records(key, history.Record{Offset: 0, Value: 1})))
	b.Invoke(1, history.Send, history.Sends(history.NewSend(key, 5)))
	var buf bytes.Buffer
	require.NoError(t, history.WriteAll(&buf, b.Ops()))
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
}

func TestSimReportHTML(t *testing.T) {
	dir := simDir(t)
	var out bytes.Buffer
	// The report is written in dir's parent: links go through dir's name.
	require.NoError(t, SimReport(dir, &out, Options{Format: HTML, AssetsDir: filepath.Dir(dir)}))
	html := out.String()
	base := filepath.Base(dir)
	containsAll(t, html,
		"<h2>Verdicts</h2>", "<th>verdict</th>",
		"<tr><td class=\"n\">3</td><td>pass</td>", "<td class=\"n\">7</td><td>correctness</td><td>correctness:lost-write</td>",
		"<td>unreadable</td>", "correctness 1, pass 1, unreadable 1",
		"<h2>Seed 7: correctness:lost-write</h2>", "lost-write on t-0; witness:",
		"acked send of 3 at offset 1 never read\n{&#34;index&#34;:1",
		"brokers=3 partitions=1 rf=3 faults=partition,crash", "gregor sim --seed 7",
		`<a href="`+base+`/seed-7/porcupine-t-0.html">Porcupine: t-0</a>`,
		`<a href="`+base+`/seed-7/history.jsonl">history.jsonl</a>`,
		"<h2>Seed 12: unreadable</h2>", "Calls still open when the history ends, not drawn: 1.",
	)
	assert.False(t, strings.Contains(html, "<h2>Seed 3"), "a passing seed has a section")

	imgs := embeddedImages(t, html)
	require.Len(t, imgs, 1)
	for _, c := range []history.Type{history.Ok, history.Fail, history.Info} {
		assert.Positive(t, colored(imgs[0], outcomeColors[c]), "scatter draws %s", c)
	}
}

func TestSimReportMarkdown(t *testing.T) {
	dir := simDir(t)
	out := t.TempDir()
	o, err := OptionsForPath(filepath.Join(out, "sim.md"))
	require.NoError(t, err)
	var md bytes.Buffer
	require.NoError(t, SimReport(dir, &md, o))
	containsAll(t, md.String(), "| 7 | correctness | correctness:lost-write |")
	containsAll(t, md.String(), "porcupine-t-0.html>)")
	m := regexp.MustCompile(`!\[[^\]]*\]\((sim-[^)]+\.png)\)`).FindStringSubmatch(md.String())
	require.NotNil(t, m)
	data, err := os.ReadFile(filepath.Join(out, m[1]))
	require.NoError(t, err)
	decodePNG(t, data)
}

func TestSimReportNoSeeds(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, SimReport(t.TempDir(), &out, Options{Format: HTML}))
	containsAll(t, out.String(), "No seed directories")
	assert.Error(t, SimReport(filepath.Join(t.TempDir(), "missing"), &out, Options{Format: HTML}))
}
