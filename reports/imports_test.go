package reports

import (
	"go/build"
	"strings"
	"testing"
)

// TestImports holds the line doc.go draws: reports reads result files of
// bench, the history format and fault schedules in their text form (the
// faults package owns the parser), and nothing of the simulator, the
// broker or the workloads.
func TestImports(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		rest, ours := strings.CutPrefix(imp, "github.com/gregor-dst/gregor/")
		if ours && rest != "bench" && rest != "checker/history" && rest != "faults" {
			t.Errorf("imports %s", imp)
		}
	}
}
