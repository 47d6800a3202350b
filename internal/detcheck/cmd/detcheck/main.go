// Command detcheck runs the determinism analyzer by hand, e.g.
//
//	go run ./internal/detcheck/cmd/detcheck ./sim/...
//
// It checks whatever packages it is given; the list of core packages lives in
// detcheck.CorePatterns.
package main

import (
	"golang.org/x/tools/go/analysis/singlechecker"

	"github.com/gregor-dst/gregor/internal/detcheck"
)

func main() { singlechecker.Main(detcheck.Analyzer) }
