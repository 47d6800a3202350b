package queue

import (
	"bytes"
	"testing"

	"github.com/anishathalye/porcupine"

	"github.com/gregor-dst/gregor/checker/history"
)

// TestGeneratedHistoryIsClean: the generator's histories (what the
// benchmark checks) pass both checkers, and survive the JSON-lines round
// trip.
func TestGeneratedHistoryIsClean(t *testing.T) {
	ops := generate(genConfig{calls: 3000, processes: 6, keys: 4, seed: 7})
	var buf bytes.Buffer
	if err := history.WriteAll(&buf, ops); err != nil {
		t.Fatal(err)
	}
	back, err := history.ReadAll(&buf)
	if err != nil {
		t.Fatal(err)
	}
	res := analyze(t, back, Options{Allowed: []Kind{}})
	if !res.Valid || len(res.Anomalies) > 0 {
		t.Fatalf("%s\n%s", res, anomalies(res))
	}
	keys := check(t, back)
	windows := 0
	for _, k := range keys {
		windows += k.Windows
	}
	if Linearizable(keys) != porcupine.Ok || len(keys) != 4 || windows <= len(keys) {
		t.Fatalf("%+v", keys)
	}
	t.Logf("%d ops, %d windows over %d keys", len(ops), windows, len(keys))
}

// BenchmarkPorcupine100k checks a generated valid history of 100,000 calls
// (200,000 ops and then the final polls) by 8 processes over 12
// partitions: the log model, then the anomaly analysis. Budget: the model
// check under 10 s on one core (go test -cpu 1).
func BenchmarkPorcupine100k(b *testing.B) {
	ops := generate(genConfig{calls: 100_000, processes: 8, keys: 12, seed: 1})
	b.Run("linearizable", func(b *testing.B) {
		var keys []KeyResult
		for b.Loop() {
			var err error
			keys, err = CheckLinearizable(ops, 0)
			if err != nil {
				b.Fatal(err)
			}
		}
		if Linearizable(keys) != porcupine.Ok {
			b.Fatalf("%+v", keys)
		}
		operations, windows := 0, 0
		for _, k := range keys {
			operations += k.Operations
			windows += k.Windows
		}
		perCheckS := b.Elapsed().Seconds() / float64(b.N)
		b.ReportMetric(perCheckS, "s/check")
		b.ReportMetric(float64(len(ops)), "history-ops")
		b.ReportMetric(float64(operations), "model-ops")
		b.ReportMetric(float64(windows), "windows")
		if perCheckS > 10 {
			b.Errorf("%.1f s per check, over the 10 s budget", perCheckS)
		}
	})
	b.Run("anomalies", func(b *testing.B) {
		var res Result
		for b.Loop() {
			var err error
			res, err = Analyze(ops, Options{})
			if err != nil {
				b.Fatal(err)
			}
		}
		if !res.Valid {
			b.Fatalf("%s\n%s", res, anomalies(res))
		}
		b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/check")
	})
}
