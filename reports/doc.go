// Package reports draws charts (gonum/plot) and renders self-contained HTML
// and Markdown reports for bench results and simulation runs. Capacity-plan
// reports come with the planner.
//
// A report is built once as a document (document.go: headings, paragraphs,
// tables, figures, code, links) and rendered in either format, so the two
// say the same thing. HTML is one page with its charts embedded as base64
// PNG and no JavaScript; Markdown links its charts as PNG files written
// next to it (Options.AssetsDir).
//
//   - BenchReport (bench.go, bench_tables.go, bench_charts.go): a setup
//     table per target (durability included: dev containers do not fsync),
//     a summary table per run (MB/s, msg/s, publish latency p50 … max,
//     end-to-end p50/p99/max, publish delay p99, errors), throughput as a
//     ratio of the physical limits measured in the same run, per-workload
//     time series with the targets overlaid, quantile curves on OMB's
//     "nines" axis, and throughput-vs-latency sweeps.
//   - SimReport (sim.go): over a `gregor sim --out` directory, a verdict
//     table per seed and, per failing seed, its problem, options, replay
//     command, anomalies with witnesses, links to the Porcupine pages, and
//     a Jepsen-style latency scatter of the history colored by outcome.
//     Fault windows are not shaded yet: result.json has no fault timeline.
//   - Charts (chart.go): lines, lines with points, scatters, log axes and
//     the nines axis, drawn to PNG with the legend below the plot.
//
// Must not import: sim internals (it reads the simulator's result.json as
// JSON). It imports bench and checker/history, only reads result files,
// and never runs anything.
package reports
