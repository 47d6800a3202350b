package assert

import "fmt"

// That panics with msg when cond is false.
func That(cond bool, msg string) {
	if !cond {
		panic("assertion failed: " + msg)
	}
}

// Thatf panics with a formatted message when cond is false. The arguments
// are evaluated even when cond holds, so keep it off hot paths.
func Thatf(cond bool, format string, args ...any) {
	if !cond {
		panic("assertion failed: " + fmt.Sprintf(format, args...))
	}
}
