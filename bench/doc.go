// Package bench runs OpenMessaging-Benchmark-compatible workloads with
// open-loop rate control and HdrHistogram recording against targets
// (gregor, kfake, Kafka and gregor in Testcontainers, any bootstrap
// address), writes result JSON, and holds the capacity planner and its
// calibration.
//
// Must not import: sim internals. It runs in real time and is not a core
// package.
package bench
