package detcheck_test

import (
	"testing"

	"golang.org/x/tools/go/analysis/analysistest"

	"github.com/gregor-dst/gregor/internal/detcheck"
)

// TestAnalyzer checks every rule against testdata/src, where each package
// holds both code that must be reported (marked with // want) and
// lookalike code that must not be.
func TestAnalyzer(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), detcheck.Analyzer,
		"goroutines",
		"clock",
		"fakeclock",
		"randv1",
		"randv2",
		"cryptorand",
		"maprange",
		"mapsiter",
	)
}
