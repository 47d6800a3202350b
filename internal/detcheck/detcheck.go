package detcheck

import (
	"go/ast"
	"go/token"
	"go/types"
	"strconv"
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/inspect"
	"golang.org/x/tools/go/ast/inspector"
	"golang.org/x/tools/go/types/typeutil"
)

// Analyzer reports constructs that make core code nondeterministic.
var Analyzer = &analysis.Analyzer{
	Name: "detcheck",
	Doc: `report constructs that break deterministic simulation

Core packages run inside a single-goroutine discrete-event simulator and
must replay bit-for-bit from a seed. detcheck rejects goroutines, select,
real-clock functions of package time, the global math/rand source,
crypto/rand, and iteration over maps (directly or via maps.Keys/Values/All)
unless the loop is marked "//gregor:unordered-ok <reason>".`,
	Run:      run,
	Requires: []*analysis.Analyzer{inspect.Analyzer},
}

// directivePrefix marks a map iteration whose order provably does not
// matter. It must be followed by a reason.
const directivePrefix = "//gregor:unordered-ok"

// clockFuncs are the package time functions that read or wait on the real
// clock, mapped to what they do so the message can say why.
var clockFuncs = map[string]string{
	"Now":       "reads",
	"Since":     "reads",
	"Until":     "reads",
	"Sleep":     "waits on",
	"After":     "waits on",
	"AfterFunc": "waits on",
	"NewTimer":  "waits on",
	"NewTicker": "waits on",
	"Tick":      "waits on",
}

// randConstructors are the math/rand(/v2) package-level functions that do
// not touch the global source: they build explicitly seeded generators.
var randConstructors = map[string]bool{
	"New":        true,
	"NewSource":  true,
	"NewPCG":     true,
	"NewChaCha8": true,
	"NewZipf":    true,
}

// mapIterFuncs are the package maps functions whose sequences follow map
// iteration order.
var mapIterFuncs = map[string]bool{"Keys": true, "Values": true, "All": true}

// sortingFuncs consume a whole sequence and impose their own order, so
// feeding them a map sequence is deterministic.
var sortingFuncs = map[string]bool{"Sorted": true, "SortedFunc": true, "SortedStableFunc": true}

// checker carries per-pass state shared by the individual rules.
type checker struct {
	pass       *analysis.Pass
	directives map[*token.File]map[int]string // file -> line -> reason
}

func run(pass *analysis.Pass) (any, error) {
	c := &checker{pass: pass, directives: make(map[*token.File]map[int]string)}
	for _, f := range pass.Files {
		c.collectDirectives(f)
	}

	in := pass.ResultOf[inspect.Analyzer].(*inspector.Inspector)
	filter := []ast.Node{
		(*ast.GoStmt)(nil),
		(*ast.SelectStmt)(nil),
		(*ast.RangeStmt)(nil),
		(*ast.ImportSpec)(nil),
		(*ast.Ident)(nil),
	}
	for cur := range in.Root().Preorder(filter...) {
		switch n := cur.Node().(type) {
		case *ast.GoStmt:
			pass.Reportf(n.Pos(), "go statement starts a goroutine; core code runs on the simulator's single goroutine, so schedule the work as a simulator event instead")
		case *ast.SelectStmt:
			pass.Reportf(n.Pos(), "select chooses among ready cases at random; core code must not block on channels, so drive it from simulator events instead")
		case *ast.RangeStmt:
			c.checkRange(n)
		case *ast.ImportSpec:
			c.checkImport(n)
		case *ast.Ident:
			c.checkIdent(cur, n)
		}
	}
	return nil, nil
}

// collectDirectives records every //gregor:unordered-ok comment in f by
// line, and reports the ones without a reason: an unexplained exemption
// cannot be reviewed.
func (c *checker) collectDirectives(f *ast.File) {
	tf := c.pass.Fset.File(f.Pos())
	if tf == nil {
		return
	}
	lines := make(map[int]string)
	for _, group := range f.Comments {
		for _, com := range group.List {
			reason, ok := parseDirective(com.Text)
			if !ok {
				continue
			}
			if reason == "" {
				c.pass.Reportf(com.Pos(), "%s needs a reason: say why iteration order cannot affect the outcome", directivePrefix)
			}
			lines[tf.Line(com.Pos())] = reason
		}
	}
	c.directives[tf] = lines
}

// parseDirective reports whether text is an unordered-ok directive and
// returns its (possibly empty) reason. "//gregor:unordered-okay" is not one.
func parseDirective(text string) (reason string, ok bool) {
	rest, ok := strings.CutPrefix(text, directivePrefix)
	if !ok {
		return "", false
	}
	if rest != "" && rest[0] != ' ' && rest[0] != '\t' {
		return "", false
	}
	return strings.TrimSpace(rest), true
}

// unorderedOK reports whether the node starting at pos is exempted by a
// directive on its own line or the line directly above. A directive with an
// empty reason also counts: it has already been reported, and reporting the
// loop too would just say the same thing twice.
func (c *checker) unorderedOK(pos token.Pos) bool {
	tf := c.pass.Fset.File(pos)
	if tf == nil {
		return false
	}
	lines := c.directives[tf]
	line := tf.Line(pos)
	_, here := lines[line]
	_, above := lines[line-1]
	return here || above
}

// checkRange reports range loops over maps, whose order is randomized by
// the runtime on every run.
func (c *checker) checkRange(n *ast.RangeStmt) {
	t := c.pass.TypesInfo.TypeOf(n.X)
	if t == nil || !isMap(t) || c.unorderedOK(n.For) {
		return
	}
	c.pass.Reportf(n.For, "range over map iterates in random order; iterate slices.Sorted(maps.Keys(m)), or mark the loop %s <reason> if order cannot matter", directivePrefix)
}

// isMap reports whether t is a map, or a type parameter whose constraint
// admits maps (ranging over it then requires every term to be a map).
func isMap(t types.Type) bool {
	if tp, ok := t.(*types.TypeParam); ok {
		return constraintHasMap(tp.Constraint())
	}
	_, ok := t.Underlying().(*types.Map)
	return ok
}

func constraintHasMap(constraint types.Type) bool {
	iface, ok := constraint.Underlying().(*types.Interface)
	if !ok {
		return false
	}
	for embedded := range iface.EmbeddedTypes() {
		if union, ok := embedded.(*types.Union); ok {
			for term := range union.Terms() {
				if _, ok := term.Type().Underlying().(*types.Map); ok {
					return true
				}
			}
			continue
		}
		if isMap(embedded) {
			return true
		}
	}
	return false
}

// checkImport reports crypto/rand: its output can never be replayed.
func (c *checker) checkImport(spec *ast.ImportSpec) {
	path, err := strconv.Unquote(spec.Path.Value)
	if err != nil || path != "crypto/rand" {
		return
	}
	c.pass.Reportf(spec.Pos(), "crypto/rand produces unreproducible randomness; use a *rand.Rand seeded from the simulation seed")
}

// checkIdent handles rules about using specific package-level functions.
// Working from resolved identifiers (types.Info.Uses) rather than selector
// text catches renamed and dot imports, and method values like
// f := time.Now, while ignoring unrelated functions that share a name.
func (c *checker) checkIdent(cur inspector.Cursor, id *ast.Ident) {
	fn, ok := c.pass.TypesInfo.Uses[id].(*types.Func)
	if !ok || fn.Pkg() == nil || fn.Signature().Recv() != nil {
		return // not a package-level function; methods are fine
	}
	switch fn.Pkg().Path() {
	case "time":
		if verb, ok := clockFuncs[fn.Name()]; ok {
			c.pass.Reportf(usePos(cur), "time.%s %s the real clock; use env.Clock", fn.Name(), verb)
		}
	case "math/rand", "math/rand/v2":
		if !randConstructors[fn.Name()] {
			c.pass.Reportf(usePos(cur), "%s.%s uses the global random source, which is not seeded by the simulation; call it on a *rand.Rand built from the simulation seed",
				fn.Pkg().Path(), fn.Name())
		}
	case "maps":
		if mapIterFuncs[fn.Name()] {
			c.checkMapIter(cur, fn)
		}
	}
}

// usePos returns where to report a use of the identifier at cur: the start
// of the qualified name (pkg.Func) if it is one.
func usePos(cur inspector.Cursor) token.Pos {
	if sel, ok := cur.Parent().Node().(*ast.SelectorExpr); ok && sel.Sel == cur.Node() {
		return sel.Pos()
	}
	return cur.Node().Pos()
}

// checkMapIter reports maps.Keys/Values/All unless the sequence goes
// straight into a sorting function, which erases map order.
func (c *checker) checkMapIter(cur inspector.Cursor, fn *types.Func) {
	expr := funcExpr(cur)
	if call, ok := expr.Parent().Node().(*ast.CallExpr); ok && call.Fun == expr.Node() {
		expr = expr.Parent()
		if c.sortedArg(expr) {
			return
		}
	}
	if c.unorderedOK(expr.Node().Pos()) {
		return
	}
	c.pass.Reportf(expr.Node().Pos(), "maps.%s yields map entries in random order; wrap it in slices.Sorted/SortedFunc, or mark the line %s <reason> if order cannot matter",
		fn.Name(), directivePrefix)
}

// funcExpr climbs from a function's identifier to the whole expression
// naming it: the selector pkg.F, explicit instantiation F[T], and parens.
func funcExpr(cur inspector.Cursor) inspector.Cursor {
	for {
		parent := cur.Parent()
		switch p := parent.Node().(type) {
		case *ast.SelectorExpr:
			if p.Sel != cur.Node() {
				return cur
			}
		case *ast.IndexExpr:
			if p.X != cur.Node() {
				return cur
			}
		case *ast.IndexListExpr:
			if p.X != cur.Node() {
				return cur
			}
		case *ast.ParenExpr:
		default:
			return cur
		}
		cur = parent
	}
}

// sortedArg reports whether the call at cur is, modulo parens, the sequence
// argument of slices.Sorted, SortedFunc or SortedStableFunc.
func (c *checker) sortedArg(cur inspector.Cursor) bool {
	for {
		if _, ok := cur.Parent().Node().(*ast.ParenExpr); !ok {
			break
		}
		cur = cur.Parent()
	}
	outer, ok := cur.Parent().Node().(*ast.CallExpr)
	if !ok || len(outer.Args) == 0 || outer.Args[0] != cur.Node() {
		return false
	}
	fn := typeutil.StaticCallee(c.pass.TypesInfo, outer)
	return fn != nil && fn.Pkg() != nil && fn.Pkg().Path() == "slices" && sortingFuncs[fn.Name()]
}
