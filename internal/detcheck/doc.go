// Package detcheck is gregor's determinism guard. It owns two things:
//
//   - Analyzer, a go/analysis pass that rejects constructs which make a run
//     depend on something other than its seed: goroutines, select, the real
//     clock, the global math/rand source, crypto/rand, and map iteration
//     order.
//   - CorePatterns and IsExempt, the list of "core" packages the pass is run
//     over. Core code executes inside the single-goroutine discrete-event
//     simulator, so any of the constructs above would make a replay diverge.
//
// Convention: a package that talks to the real world (real clock, real
// network, real goroutines) lives in a subpackage named `real` (or
// `realrt`), or under a `cmd` directory, e.g. broker/real or
// workloads/real. Such packages are exempt; everything else under the core
// trees is checked.
//
// Iterating a map is allowed when order provably does not matter. Mark the
// loop with a comment on the `for` line or the line directly above it:
//
//	//gregor:unordered-ok summing values is commutative
//	for _, v := range m { ... }
//
// The reason is mandatory so that reviewers can judge the claim.
//
// detcheck is a leaf tool: it must not import any gregor package, so it can
// check the packages it guards without import cycles and keeps building
// while they are broken.
package detcheck
