package history

import (
	"go/build"
	"strings"
	"testing"
)

// TestImports holds the line doc.go draws: the format knows nothing of the
// broker, the workloads, the simulator or the checkers that read it.
func TestImports(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		rest, ours := strings.CutPrefix(imp, "github.com/gregor-dst/gregor/")
		if ours && rest != "internal/assert" {
			t.Errorf("imports %s", imp)
		}
	}
}
