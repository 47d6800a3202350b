package detcheck_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/checker"
	"golang.org/x/tools/go/packages"

	"github.com/gregor-dst/gregor/internal/detcheck"
)

// TestCorePackagesAreDeterministic runs the analyzer over the real core
// packages, so a determinism violation fails `go test ./...` rather than
// surfacing later as an irreproducible simulation run.
func TestCorePackagesAreDeterministic(t *testing.T) {
	root := moduleRoot(t)
	patterns := existingPatterns(t, root, detcheck.CorePatterns())
	if len(patterns) == 0 {
		t.Skip("no core package trees exist yet")
	}

	pkgs := loadCore(t, root, patterns)
	t.Logf("checking %d core packages", len(pkgs))
	if len(pkgs) == 0 {
		return
	}

	graph, err := checker.Analyze([]*analysis.Analyzer{detcheck.Analyzer}, pkgs, nil)
	if err != nil {
		t.Fatalf("running detcheck: %v", err)
	}
	var findings []string
	for _, act := range graph.Roots {
		if act.Err != nil {
			t.Errorf("detcheck on %s: %v", act.Package.PkgPath, act.Err)
			continue
		}
		for _, d := range act.Diagnostics {
			findings = append(findings, formatDiagnostic(root, act, d))
		}
	}
	slices.Sort(findings)
	if len(findings) > 0 {
		t.Errorf("determinism violations in core packages:\n%s", strings.Join(findings, "\n"))
	}
}

// moduleRoot walks up from the working directory to the one holding go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod found above the working directory")
		}
		dir = parent
	}
}

// existingPatterns drops patterns whose directory does not exist yet: the
// go command treats those as errors, but an unwritten tree is not a
// violation.
func existingPatterns(t *testing.T, root string, patterns []string) []string {
	t.Helper()
	var kept []string
	for _, p := range patterns {
		dir := filepath.Join(root, filepath.FromSlash(strings.TrimSuffix(p, "/...")))
		if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
			t.Logf("skipping %s: directory does not exist", p)
			continue
		}
		kept = append(kept, p)
	}
	return kept
}

// loadCore loads the core packages with the invariants tag (the project's
// test configuration) and returns the non-exempt ones that loaded cleanly.
// Load errors fail the test, since unparsable code cannot be checked.
func loadCore(t *testing.T, root string, patterns []string) []*packages.Package {
	t.Helper()
	cfg := &packages.Config{
		Mode: packages.NeedName | packages.NeedFiles | packages.NeedCompiledGoFiles |
			packages.NeedImports | packages.NeedTypes | packages.NeedTypesSizes |
			packages.NeedTypesInfo | packages.NeedSyntax | packages.NeedModule,
		Dir:        root,
		Tests:      false,
		BuildFlags: []string{"-tags=invariants"},
	}
	pkgs, err := packages.Load(cfg, patterns...)
	if err != nil {
		t.Fatalf("loading core packages: %v", err)
	}
	var kept []*packages.Package
	for _, pkg := range pkgs {
		if loadFailed(t, pkg) || detcheck.IsExempt(pkg.PkgPath) {
			continue
		}
		kept = append(kept, pkg)
	}
	return kept
}

// loadFailed reports pkg's load errors and whether it has any. A pattern
// that matches no packages is tolerated: its tree may not have code yet.
// (The go command only warns about that and go/packages drops the warning;
// the check is here in case another driver reports it as an error.)
func loadFailed(t *testing.T, pkg *packages.Package) bool {
	t.Helper()
	failed := false
	for _, e := range pkg.Errors {
		if strings.Contains(e.Msg, "matched no packages") {
			t.Logf("skipping %s: %s", pkg.ID, e.Msg)
		} else {
			t.Errorf("loading %s: %v", pkg.ID, e)
		}
		failed = true
	}
	return failed || len(pkg.Syntax) == 0
}

// formatDiagnostic renders d as "file:line: message", with file relative
// to the module root so the list is short and clickable.
func formatDiagnostic(root string, act *checker.Action, d analysis.Diagnostic) string {
	pos := act.Package.Fset.Position(d.Pos)
	file := pos.Filename
	if rel, err := filepath.Rel(root, file); err == nil {
		file = rel
	}
	return fmt.Sprintf("%s:%d: %s", file, pos.Line, d.Message)
}
