package docs

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// How troubleshooting.md is written, as far as this test reads it:
//
//   - Every "### " heading is an entry. The Go identifiers it names in
//     backticks (`registry.ErrNoSuchImage`, `scan.PolicyError`: package
//     name, dot, exported name) are the errors the entry documents; an
//     entry for a failure without a sentinel (KMS keys, the trusted root)
//     names none, and only its messages are checked.
//   - An entry has a "**Exit code:**" paragraph (the digits 0–3 in it are
//     the exit codes), "**Cause:**", "**Fix:**" and "**More:**" paragraphs, and at
//     least one ```console block: the messages as sc prints them, one per
//     line, "sc: " first when main prints it. In a message, <…> stands for
//     a value (an image, a path, a library's own text) and … for text left
//     out.
//   - The entries under "## Configuration problems" are the kinds of
//     problems pkg/api reports; together their messages quote every message
//     format of pkg/api.

const troubleshooting = "troubleshooting.md"

// excluded are exported errors that need no entry, and why.
var excluded = map[string]string{
	"outcome.ErrCheckFailed":    "a class, never printed alone: the exit-code table documents it",
	"outcome.ErrInvalid":        "a class, never printed alone: the exit-code table documents it",
	"outcome.ErrOperational":    "a class, never printed alone: the exit-code table documents it",
	"fixture.ErrInvalidOptions": "the quickstart builds its sample image with fixed options; no user can reach it",
}

// errFact is an exported sentinel or error type of sc's code.
type errFact struct {
	name  string // package name, dot, identifier
	pos   string // file:line, for messages
	codes []int  // the exit codes its class gives; nil when a wrapper gives the class
}

// codeFacts is what the checker knows of sc's code.
type codeFacts struct {
	errors  map[string]errFact
	pieces  *pieceSet
	formats []apiFormat
}

// apiFormat is a message format pkg/api turns into a Problem.
type apiFormat struct {
	format string
	pos    string
	re     *regexp.Regexp
}

// verb matches a fmt verb.
var verb = regexp.MustCompile(`%[-+# 0-9.*\[\]]*[a-zA-Z]`)

// pieceSet holds the constant parts of every string literal of the code:
// each literal (and each constant concatenation) split at its fmt verbs.
type pieceSet struct {
	all     []string
	byFirst map[byte][]string
}

func newPieceSet(literals map[string]bool) *pieceSet {
	ps := &pieceSet{byFirst: map[byte][]string{}}
	seen := map[string]bool{}
	for lit := range literals {
		lit = strings.ReplaceAll(lit, "%%", "\x00")
		for _, p := range verb.Split(lit, -1) {
			p = strings.ReplaceAll(p, "\x00", "%")
			if p == "" || seen[p] {
				continue
			}
			seen[p] = true
			ps.all = append(ps.all, p)
			ps.byFirst[p[0]] = append(ps.byFirst[p[0]], p)
		}
	}
	slices.Sort(ps.all)
	return ps
}

// covers reports whether text is a run of whole pieces. afterGap allows
// its start to be the end of a piece (text left out before it), beforeGap
// its end to be the start of one (text left out after it).
func (ps *pieceSet) covers(text string, afterGap, beforeGap bool) bool {
	n := len(text)
	reach := make([]bool, n+1)
	reach[0] = true
	if afterGap {
		for i := 1; i <= n; i++ {
			for _, p := range ps.all {
				if strings.HasSuffix(p, text[:i]) {
					reach[i] = true
					break
				}
			}
		}
	}
	for i := 0; i < n; i++ {
		if !reach[i] {
			continue
		}
		for _, p := range ps.byFirst[text[i]] {
			if strings.HasPrefix(text[i:], p) {
				reach[i+len(p)] = true
			}
		}
		if beforeGap && !reach[n] {
			for _, p := range ps.all {
				if strings.HasPrefix(p, text[i:]) {
					reach[n] = true
					break
				}
			}
		}
	}
	return reach[n]
}

// placeholder matches what a message line leaves to the reader: <a value>
// or … (text left out).
var placeholder = regexp.MustCompile(`<[^<>]*>|…`)

// uncovered returns the parts of a message line that no literal of the
// code makes, or nil.
func (ps *pieceSet) uncovered(line string) []string {
	line = strings.TrimPrefix(line, "sc: ")
	var bad []string
	locs := placeholder.FindAllStringIndex(line, -1)
	start, afterGap := 0, false
	for i := 0; i <= len(locs); i++ {
		end, next, beforeGap := len(line), len(line), false
		if i < len(locs) {
			end, next = locs[i][0], locs[i][1]
			beforeGap = line[end:next] == "…"
		}
		if seg := line[start:end]; seg != "" && !ps.covers(seg, afterGap, beforeGap) {
			bad = append(bad, seg)
		}
		if i < len(locs) {
			afterGap = line[locs[i][0]:locs[i][1]] == "…"
		}
		start = next
	}
	return bad
}

// outcomeCodes are the exit codes of pkg/outcome's constructors and classes.
var outcomeCodes = map[string]int{
	"CheckFailed": 1, "CheckFailedf": 1, "ErrCheckFailed": 1,
	"Invalid": 2, "Invalidf": 2, "ErrInvalid": 2,
	"Operational": 3, "Operationalf": 3, "ErrOperational": 3,
}

// exitCode is outcome.Code's choice among the classes an error matches.
func exitCode(classes []int) []int {
	if len(classes) == 0 {
		return nil
	}
	for _, c := range []int{3, 2, 1} {
		if slices.Contains(classes, c) {
			return []int{c}
		}
	}
	return nil
}

// goPackage is one directory of parsed non-test files.
type goPackage struct {
	name  string
	dir   string
	files []*ast.File
}

// loadCode parses the non-test Go files of sc (pkg, internal and cmd,
// without internal/testutil) under root.
func loadCode(t *testing.T, root string) codeFacts {
	t.Helper()
	fset := token.NewFileSet()
	pkgs := map[string]*goPackage{}
	for _, top := range []string{"pkg", "internal", "cmd"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if d.Name() == "testdata" || path == filepath.Join(root, "internal", "testutil") {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			dir := filepath.Dir(path)
			if pkgs[dir] == nil {
				pkgs[dir] = &goPackage{name: f.Name.Name, dir: dir}
			}
			pkgs[dir].files = append(pkgs[dir].files, f)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	rel := func(p token.Pos) string {
		pos := fset.Position(p)
		r, _ := filepath.Rel(root, pos.Filename)
		return fmt.Sprintf("%s:%d", filepath.ToSlash(r), pos.Line)
	}

	facts := codeFacts{errors: map[string]errFact{}}
	literals := map[string]bool{}
	dirs := make([]string, 0, len(pkgs))
	for dir := range pkgs {
		dirs = append(dirs, dir)
	}
	slices.Sort(dirs)
	owner := map[string]string{} // error name -> directory, to refuse ambiguity
	for _, dir := range dirs {
		p := pkgs[dir]
		consts := constStrings(p)
		for _, f := range p.files {
			ast.Inspect(f, func(n ast.Node) bool {
				if e, ok := n.(ast.Expr); ok {
					if s, ok := fold(e, consts); ok {
						literals[s] = true
					}
				}
				return true
			})
		}
		for name, fact := range packageErrors(p, rel) {
			if other, dup := owner[name]; dup {
				t.Fatalf("%s is defined in %s and in %s: entries could not tell them apart; rename a package or extend this test", name, other, dir)
			}
			owner[name] = dir
			facts.errors[name] = fact
		}
		if filepath.ToSlash(dir) == filepath.ToSlash(filepath.Join(root, "pkg", "api")) {
			facts.formats = apiFormats(p, consts, rel)
		}
	}
	facts.pieces = newPieceSet(literals)
	if len(facts.errors) < 20 || len(facts.formats) < 20 {
		t.Fatalf("found %d errors and %d configuration formats: the scan of the code is broken", len(facts.errors), len(facts.formats))
	}
	return facts
}

// constStrings returns the package-level string constants of p whose
// values are constant expressions of literals.
func constStrings(p *goPackage) map[string]string {
	out := map[string]string{}
	for _, f := range p.files {
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, s := range g.Specs {
				vs := s.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if i < len(vs.Values) {
						if v, ok := fold(vs.Values[i], out); ok {
							out[n.Name] = v
						}
					}
				}
			}
		}
	}
	return out
}

// fold evaluates a constant string expression: literals, constants of the
// package and + between them.
func fold(e ast.Expr, consts map[string]string) (string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(e.Value)
		return s, err == nil
	case *ast.Ident:
		s, ok := consts[e.Name]
		return s, ok
	case *ast.ParenExpr:
		return fold(e.X, consts)
	case *ast.BinaryExpr:
		if e.Op != token.ADD {
			return "", false
		}
		x, ok1 := fold(e.X, consts)
		y, ok2 := fold(e.Y, consts)
		return x + y, ok1 && ok2
	}
	return "", false
}

// packageErrors finds p's exported sentinels (package-level variables
// named Err…) and exported types with an Error method, with the exit codes
// their classes give when the code shows them.
func packageErrors(p *goPackage, rel func(token.Pos) string) map[string]errFact {
	// The classes each type's Is and Unwrap methods name, as outcome
	// classes (codes) or sentinels of p (names).
	typeCodes := map[string][]int{}
	typeRefs := map[string][]string{}
	errorTypes := map[string]token.Pos{}
	for _, f := range p.files {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv == nil || len(fd.Recv.List) != 1 {
				continue
			}
			recv := fd.Recv.List[0].Type
			if st, ok := recv.(*ast.StarExpr); ok {
				recv = st.X
			}
			id, ok := recv.(*ast.Ident)
			if !ok {
				continue
			}
			switch fd.Name.Name {
			case "Error":
				if ast.IsExported(id.Name) {
					errorTypes[id.Name] = fd.Pos()
				}
			case "Is", "Unwrap":
				ast.Inspect(fd.Body, func(n ast.Node) bool {
					switch n := n.(type) {
					case *ast.SelectorExpr:
						if x, ok := n.X.(*ast.Ident); ok && x.Name == "outcome" {
							if c, ok := outcomeCodes[n.Sel.Name]; ok {
								typeCodes[id.Name] = append(typeCodes[id.Name], c)
							}
						}
						return false
					case *ast.Ident:
						if strings.HasPrefix(n.Name, "Err") {
							typeRefs[id.Name] = append(typeRefs[id.Name], n.Name)
						}
					}
					return true
				})
			}
		}
	}

	sentinelCodes := map[string][]int{}
	sentinelPos := map[string]token.Pos{}
	sentinelType := map[string]string{}
	for _, f := range p.files {
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR {
				continue
			}
			for _, s := range g.Specs {
				vs := s.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if !strings.HasPrefix(n.Name, "Err") || !ast.IsExported(n.Name) || i >= len(vs.Values) {
						continue
					}
					sentinelPos[n.Name] = n.Pos()
					switch v := vs.Values[i].(type) {
					case *ast.CallExpr:
						if sel, ok := v.Fun.(*ast.SelectorExpr); ok {
							if x, ok := sel.X.(*ast.Ident); ok && x.Name == "outcome" {
								if c, ok := outcomeCodes[sel.Sel.Name]; ok {
									sentinelCodes[n.Name] = []int{c}
								}
							}
						}
					case *ast.UnaryExpr:
						if cl, ok := v.X.(*ast.CompositeLit); ok {
							if tid, ok := cl.Type.(*ast.Ident); ok {
								sentinelType[n.Name] = tid.Name
							}
						}
					}
				}
			}
		}
	}
	// A type's classes: those it names, and those of the sentinels it
	// names; a sentinel of such a type has them too.
	classesOf := func(typ string) []int {
		cs := slices.Clone(typeCodes[typ])
		for _, r := range typeRefs[typ] {
			cs = append(cs, sentinelCodes[r]...)
		}
		return cs
	}
	for name, typ := range sentinelType {
		sentinelCodes[name] = classesOf(typ)
	}

	out := map[string]errFact{}
	for name, pos := range sentinelPos {
		full := p.name + "." + name
		out[full] = errFact{name: full, pos: rel(pos), codes: exitCode(sentinelCodes[name])}
	}
	for name, pos := range errorTypes {
		full := p.name + "." + name
		out[full] = errFact{name: full, pos: rel(pos), codes: exitCode(classesOf(name))}
	}
	return out
}

// word and backquoted tell a message from a path or a format of
// punctuation: a message has a word of three letters and a space, outside
// its verbs and backquoted values.
var (
	word       = regexp.MustCompile(`[A-Za-z]{3,}`)
	backquoted = regexp.MustCompile("`[^`]*`")
)

// notProblems are formats of pkg/api that are not about a user's
// configuration, and why.
var notProblems = map[string]string{
	"reading field comments: %w": "Schema reads sc's own embedded sources, not a user's file",
}

// apiFormats returns the message formats pkg/api reports problems with:
// the constant strings given to fmt, errors and outcome, to its problem
// methods (problem, add, at, problemAt), as a Problem's Message, and its
// msg… constants, the constant strings added to a variable named msg, and
// those functions returning a string return.
func apiFormats(p *goPackage, consts map[string]string, rel func(token.Pos) string) []apiFormat {
	var out []apiFormat
	seen := map[string]bool{}
	add := func(s string, pos token.Pos) {
		bare := backquoted.ReplaceAllString(verb.ReplaceAllString(s, "\x00"), "\x00")
		if !word.MatchString(bare) || !strings.Contains(bare, " ") || seen[s] || notProblems[s] != "" {
			return
		}
		seen[s] = true
		out = append(out, apiFormat{format: s, pos: rel(pos), re: formatRegexp(s)})
	}
	// literalsIn adds the constant operands of e (a literal, or literals
	// joined to values with +).
	var literalsIn func(e ast.Expr)
	literalsIn = func(e ast.Expr) {
		if s, ok := fold(e, consts); ok {
			add(s, e.Pos())
			return
		}
		if b, ok := e.(*ast.BinaryExpr); ok && b.Op == token.ADD {
			literalsIn(b.X)
			literalsIn(b.Y)
		}
	}
	isMsg := func(e ast.Expr) bool {
		id, ok := e.(*ast.Ident)
		return ok && id.Name == "msg"
	}
	for _, f := range p.files {
		for _, d := range f.Decls {
			if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.CONST {
				for _, s := range g.Specs {
					for _, n := range s.(*ast.ValueSpec).Names {
						if v, ok := consts[n.Name]; ok && strings.HasPrefix(n.Name, "msg") {
							add(v, n.Pos())
						}
					}
				}
			}
		}
	}
	for _, f := range p.files {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncDecl:
				// a function that returns a message as a string
				if r := n.Type.Results; n.Body != nil && r != nil && len(r.List) == 1 && len(r.List[0].Names) <= 1 {
					if id, ok := r.List[0].Type.(*ast.Ident); ok && id.Name == "string" {
						ast.Inspect(n.Body, func(m ast.Node) bool {
							if ret, ok := m.(*ast.ReturnStmt); ok && len(ret.Results) == 1 {
								literalsIn(ret.Results[0])
							}
							return true
						})
					}
				}
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				x, _ := sel.X.(*ast.Ident)
				switch {
				case x != nil && (x.Name == "fmt" || x.Name == "errors" || x.Name == "outcome"),
					sel.Sel.Name == "problem", sel.Sel.Name == "add", sel.Sel.Name == "at", sel.Sel.Name == "problemAt":
					for _, a := range n.Args {
						literalsIn(a)
					}
				}
			case *ast.BinaryExpr:
				if n.Op == token.ADD && (isMsg(n.X) || isMsg(n.Y)) {
					literalsIn(n.X)
					literalsIn(n.Y)
				}
			case *ast.CompositeLit:
				if id, ok := n.Type.(*ast.Ident); ok && id.Name == "Problem" {
					for _, el := range n.Elts {
						if kv, ok := el.(*ast.KeyValueExpr); ok {
							if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Message" {
								literalsIn(kv.Value)
							}
						}
					}
				}
			}
			return true
		})
	}
	slices.SortFunc(out, func(a, b apiFormat) int { return strings.Compare(a.format, b.format) })
	return out
}

// formatRegexp matches a line that quotes format, each verb standing for
// anything.
func formatRegexp(format string) *regexp.Regexp {
	format = strings.ReplaceAll(format, "%%", "\x00")
	parts := verb.Split(format, -1)
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(strings.ReplaceAll(p, "\x00", "%"))
	}
	return regexp.MustCompile(strings.Join(parts, ".+"))
}

// entry is one "### " section of troubleshooting.md.
type entry struct {
	section  string
	heading  string
	line     int
	ids      []string
	messages []string
	exit     string
	fields   map[string]bool
}

var (
	identifier = regexp.MustCompile("`([a-z][a-z0-9]*\\.[A-Z][A-Za-z0-9]*)`")
	digit      = regexp.MustCompile(`\b[0-3]\b`)
)

// requiredFields are the paragraphs every entry has.
var requiredFields = []string{"**Exit code:**", "**Cause:**", "**Fix:**", "**More:**"}

const configSection = "Configuration problems"

// parseEntries reads the entries of a troubleshooting document.
func parseEntries(doc string) []*entry {
	var (
		out     []*entry
		cur     *entry
		section string
		inBlock bool
		console bool
		inExit  bool // in the "**Exit code:**" paragraph
	)
	for i, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(line, "```") {
			if inBlock {
				inBlock, console = false, false
			} else {
				inBlock, console = true, strings.TrimSpace(line[3:]) == "console"
			}
			continue
		}
		if inBlock {
			if console && cur != nil && strings.TrimSpace(line) != "" {
				cur.messages = append(cur.messages, line)
			}
			continue
		}
		switch {
		case strings.HasPrefix(line, "## "):
			section, cur, inExit = strings.TrimSpace(line[3:]), nil, false
		case strings.HasPrefix(line, "### "):
			inExit = false
			cur = &entry{section: section, heading: strings.TrimSpace(line[4:]), line: i + 1, fields: map[string]bool{}}
			for _, m := range identifier.FindAllStringSubmatch(line, -1) {
				cur.ids = append(cur.ids, m[1])
			}
			out = append(out, cur)
		case cur != nil:
			if strings.TrimSpace(line) == "" {
				inExit = false
			}
			if inExit {
				cur.exit += " " + line
			}
			for _, f := range requiredFields {
				if strings.HasPrefix(line, f) {
					cur.fields[f] = true
					if f == "**Exit code:**" {
						cur.exit, inExit = line[len(f):], true
					}
				}
			}
		}
	}
	return out
}

// check returns what is wrong with doc as the troubleshooting guide of
// the code facts describe: missing entries, wrong exit codes, messages the
// code does not print.
func check(doc string, code codeFacts) []string {
	var bad []string
	entries := parseEntries(doc)
	documented := map[string]bool{}
	var configLines []string
	for _, e := range entries {
		where := fmt.Sprintf("entry %q (line %d)", e.heading, e.line)
		for _, f := range requiredFields {
			if !e.fields[f] {
				bad = append(bad, fmt.Sprintf("%s has no %s paragraph", where, f))
			}
		}
		if len(e.messages) == 0 {
			bad = append(bad, where+" quotes no message (a ```console block)")
		}
		if e.section == configSection {
			configLines = append(configLines, e.messages...)
		}
		var stated []int
		for _, d := range digit.FindAllString(e.exit, -1) {
			n, _ := strconv.Atoi(d)
			stated = append(stated, n)
		}
		if e.fields["**Exit code:**"] && len(stated) == 0 {
			bad = append(bad, where+" states no exit code")
		}
		var known []int
		allKnown := true
		for _, id := range e.ids {
			documented[id] = true
			f, ok := code.errors[id]
			switch {
			case !ok:
				bad = append(bad, fmt.Sprintf("%s names %s, which sc's code does not define", where, id))
			case f.codes == nil:
				allKnown = false
			default:
				known = append(known, f.codes...)
			}
		}
		for _, c := range known {
			if !slices.Contains(stated, c) {
				bad = append(bad, fmt.Sprintf("%s: its errors exit with %d, the entry says %v", where, c, stated))
			}
		}
		if allKnown && len(known) > 0 {
			for _, c := range stated {
				if !slices.Contains(known, c) {
					bad = append(bad, fmt.Sprintf("%s says exit code %d, which none of its errors gives (%v)", where, c, known))
				}
			}
		}
		for _, m := range e.messages {
			for _, seg := range code.pieces.uncovered(m) {
				bad = append(bad, fmt.Sprintf("%s quotes %q, which sc's code does not print: no string literal makes %q", where, m, seg))
			}
		}
	}
	names := make([]string, 0, len(code.errors))
	for n := range code.errors {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if _, skip := excluded[n]; !skip && !documented[n] {
			bad = append(bad, fmt.Sprintf("%s (%s) has no entry: add a heading naming `%s`", n, code.errors[n].pos, n))
		}
	}
	for _, f := range code.formats {
		if !slices.ContainsFunc(configLines, f.re.MatchString) {
			bad = append(bad, fmt.Sprintf("pkg/api reports %q (%s), which no entry under %q quotes", f.format, f.pos, configSection))
		}
	}
	return bad
}

func readDoc(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(troubleshooting)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestTroubleshootingCoversErrors is the guide's contract with the code.
func TestTroubleshootingCoversErrors(t *testing.T) {
	code := loadCode(t, "..")
	for _, p := range check(readDoc(t), code) {
		t.Error(p)
	}
}

// TestTroubleshootingCheckFails proves the check can fail: the real guide
// with one entry, one message, one exit code or one configuration line
// spoilt is refused, naming what was spoilt.
func TestTroubleshootingCheckFails(t *testing.T) {
	code := loadCode(t, "..")
	doc := readDoc(t)
	if bad := check(doc, code); len(bad) > 0 {
		t.Skipf("the guide itself does not pass (TestTroubleshootingCoversErrors says why)")
	}
	// without removes the entry whose heading contains heading.
	without := func(heading string) string {
		lines := strings.Split(doc, "\n")
		var out []string
		skipping := false
		for _, l := range lines {
			if strings.HasPrefix(l, "### ") || strings.HasPrefix(l, "## ") {
				skipping = strings.HasPrefix(l, "### ") && strings.Contains(l, heading)
			}
			if !skipping {
				out = append(out, l)
			}
		}
		return strings.Join(out, "\n")
	}
	replace := func(old, new string) string {
		if !strings.Contains(doc, old) {
			t.Fatalf("the guide no longer contains %q: update this test", old)
		}
		return strings.Replace(doc, old, new, 1)
	}
	for _, tt := range []struct {
		name string
		doc  string
		want string
	}{
		{"entry removed", without("`registry.ErrNoSuchImage`"), "registry.ErrNoSuchImage (pkg/security/registry/errors.go"},
		{"type entry removed", without("`provenance.MismatchError`"), "provenance.MismatchError (pkg/security/provenance/errors.go"},
		{"message the code does not print", replace("no such image: tag", "no such picture: tag"), `which sc's code does not print: no string literal makes ": no such picture: tag "`},
		{"wrong exit code", replace("**Exit code:** 1 (the policy", "**Exit code:** 3 (the policy"), "its errors exit with 1"},
		{"identifier that does not exist", replace("`scan.ErrNoScanners`", "`scan.ErrNoScanner`"), "names scan.ErrNoScanner, which sc's code does not define"},
		{"configuration message missing", replace("expected a boolean (true or false), got", "expected yes or no, got"), `pkg/api reports "expected a boolean (true or false), got %s"`},
		{"field missing", replace("**More:** `sc scan db status`", "More: `sc scan db status`"), "has no **More:** paragraph"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bad := check(tt.doc, code)
			if !slices.ContainsFunc(bad, func(s string) bool { return strings.Contains(s, tt.want) }) {
				t.Errorf("check did not report %q; it said:\n%s", tt.want, strings.Join(bad, "\n"))
			}
		})
	}
}

// TestPieceCover pins the message matching: whole literals only, values
// where the code has verbs, gaps only where the line says so.
func TestPieceCover(t *testing.T) {
	ps := newPieceSet(map[string]bool{
		"resolving %s: %w":              true,
		"no such image":                 true,
		"%w: %s does not exist in %s":   true,
		"vulnerability policy violated": true,
	})
	for _, tt := range []struct {
		line string
		ok   bool
	}{
		{"sc: resolving <ref>: no such image: <tag> does not exist in <repo>", true},
		{"resolving <ref>: no such picture", false},
		{"resolving <ref>: no such", false}, // part of a literal, no gap said
		{"resolving <ref>: no such…", true}, // … says text is left out
		{"…policy violated", true},          // and before
		{"resolving: no such image", false}, // the value is missing
		{"<image>: vulnerability policy violated", true},
	} {
		if got := ps.uncovered(tt.line) == nil; got != tt.ok {
			t.Errorf("uncovered(%q) = %v, want covered %v", tt.line, ps.uncovered(tt.line), tt.ok)
		}
	}
}
