package queue

import (
	"go/build"
	"strings"
	"testing"
)

// TestImports holds the line doc.go draws: of this module, only the
// history format.
func TestImports(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		rest, ours := strings.CutPrefix(imp, "github.com/gregor-dst/gregor/")
		if ours && rest != "checker/history" && rest != "internal/assert" {
			t.Errorf("imports %s", imp)
		}
	}
}
