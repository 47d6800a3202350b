package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gregor-dst/gregor/bench"
)

// TestReportOutDirectory: gregor report creates the directories --out
// names that do not exist yet, and says so clearly when it cannot.
func TestReportOutDirectory(t *testing.T) {
	in := t.TempDir()
	r := &bench.Result{Workload: "w", Driver: "kfake", MessageSize: 1024, Topics: 1, Partitions: 1,
		PublishRate: []float64{100, 100}, ConsumeRate: []float64{100, 100}, Complete: true}
	_, err := bench.WriteResult(in, r)
	require.NoError(t, err)

	for _, tc := range []struct {
		name    string
		out     string // relative to a fresh directory holding a regular file "file"
		wantErr string
	}{
		{name: "html in an existing directory", out: "report.html"},
		{name: "html two directories down", out: "a/b/report.html"},
		{name: "markdown and its charts in a new directory", out: "new/report.md"},
		{name: "a file in the way", out: "file/report.html", wantErr: "creating the report's directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(root, "file"), nil, 0o644))
			out := filepath.Join(root, tc.out)
			err := runReport(in, out)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			st, err := os.Stat(out)
			require.NoError(t, err)
			require.Positive(t, st.Size())
			require.NoFileExists(t, out+".tmp")
		})
	}
}
