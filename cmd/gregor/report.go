package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/gregor-dst/gregor/bench"
	"github.com/gregor-dst/gregor/reports"
)

func newReportCmd() *cobra.Command {
	var in, out string
	cmd := &cobra.Command{
		Use:   "report --in DIR --out report.html|report.md",
		Short: "Render gregor bench results or a gregor sim --out directory as HTML or Markdown",
		Long: `report reads DIR and writes one report:

  - a gregor bench --out directory (result JSON files, OMB's shape): a setup table
    with each target's durability settings, a summary table (MB/s, msg/s,
    p50…p99.99, max), ratios to the physical limits, 10-second time series,
    quantile curves on a "nines" axis, and throughput-against-latency sweeps
    (a skipped target is listed as "skipped: REASON", not charted);
  - a gregor sim --out directory (seed-N/ subdirectories): verdicts per seed,
    anomalies with their witnesses, each failing seed's fault schedule as a table
    and a timeline (which faults were active when, on the network and each
    node), a Jepsen-style latency scatter of its history with the fault windows
    shaded, and links to the Porcupine visualizations.

The HTML page is self-contained (charts embedded); Markdown writes its charts as
PNG files next to the .md file.`,
		Example: `  gregor report --in out/ --out out/report.html
  gregor report --in runs/ --out runs/report.md`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if in == "" || out == "" {
				return errors.New("give --in DIR and --out FILE")
			}
			return runReport(in, out)
		},
	}
	cmd.Flags().StringVar(&in, "in", "", "the results `DIR` (gregor bench --out or gregor sim --out)")
	cmd.Flags().StringVar(&out, "out", "", "the report `FILE`: .html or .md")
	return cmd
}

func runReport(in, out string) error {
	o, err := reports.OptionsForPath(out)
	if err != nil {
		return err
	}
	sim, err := isSimDir(in)
	if err != nil {
		return err
	}
	// The report may be the first thing written there (runs/new/report.html).
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return fmt.Errorf("creating the report's directory: %w", err)
	}
	tmp := out + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if sim {
		err = reports.SimReport(in, f, o)
	} else {
		var results []*bench.Result
		if results, err = bench.ReadResults(in); err == nil && len(results) == 0 {
			err = fmt.Errorf("%s holds no result files (gregor bench --out) and no seed-N directories (gregor sim --out)", in)
		}
		if err == nil {
			err = reports.BenchReport(results, f, o)
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, out)
}

// isSimDir: a gregor sim --out directory holds seed-N subdirectories.
func isSimDir(dir string) (bool, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return false, err
	}
	if !st.IsDir() {
		return false, fmt.Errorf("%s is not a directory", dir)
	}
	m, err := filepath.Glob(filepath.Join(dir, "seed-*", "result.json"))
	return len(m) > 0, err
}
