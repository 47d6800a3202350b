package detcheck

import "strings"

// CorePatterns returns the go/packages patterns, relative to the module
// root, of the code that runs inside the deterministic simulator.
func CorePatterns() []string {
	return []string{
		"./env/...",
		"./sim/...",
		"./broker/...",
		"./workloads/...",
		"./faults/...",
		"./checker/...",
		"./internal/assert/...",
		"./internal/simcluster/...",
	}
}

// IsExempt reports whether pkgPath is a real-runtime package that is allowed
// to use goroutines, the wall clock and so on. By convention these live in a
// path element named "real" or "realrt", or under a "cmd" directory.
func IsExempt(pkgPath string) bool {
	for elem := range strings.SplitSeq(pkgPath, "/") {
		switch elem {
		case "real", "realrt", "cmd":
			return true
		}
	}
	return false
}
