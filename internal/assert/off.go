//go:build !invariants

package assert

// Enabled turns on the expensive checks (build tag `invariants`).
const Enabled = false
