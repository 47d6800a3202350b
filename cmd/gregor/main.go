// Command gregor is the one CLI of the project: simulation runs, and in
// time the broker, local clusters, benchmarks, reports and capacity plans.
package main

import (
	"errors"
	"fmt"
	"os"
)

func main() {
	err := newRoot().Execute()
	var ex *exitError
	switch {
	case errors.As(err, &ex):
		os.Exit(ex.code)
	case err != nil:
		fmt.Fprintln(os.Stderr, "gregor:", err)
		os.Exit(2)
	}
}

// exitError carries a verdict's exit code out of a command that has already
// printed its report.
type exitError struct {
	code int
}

func (e *exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }
