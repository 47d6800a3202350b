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
//     "nines" axis, and throughput-vs-latency sweeps (results recording
//     several target rates for one workload and target, as gregor bench
//     --sweep writes them; max-rate runs stay off that chart).
//   - SimReport (sim.go, sim_faults.go): over a `gregor sim --out`
//     directory, a verdict table per seed and, per failing seed, its
//     problem, options, replay command, anomalies with witnesses, links to
//     the Porcupine pages, its fault schedule (scenario.yaml) as a table
//     and a timeline of which faults were active when, and a Jepsen-style
//     latency scatter of the history colored by outcome with the fault
//     windows shaded. The directory times the steps from the safety
//     phase's start but does not say when that began: the history's first
//     call stands in for it, late by less than one workload interval.
//   - Charts (chart.go, bands.go): lines, lines with points, scatters, log
//     axes and the nines axis, and bands (x intervals filled over the full
//     height or a timeline's lane), drawn to PNG with the legend below the
//     plot.
//
// Must not import: sim internals (it reads the simulator's result.json as
// JSON). It imports bench, checker/history and faults, the last only for
// the schedule's types and text parser (the package that writes the
// text; it links the simulator to play schedules, which reports never
// does). It only reads result files, and never runs anything.
package reports
