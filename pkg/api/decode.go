package api

import (
	"bytes"
	"encoding"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// The decoder walks goccy/go-yaml's AST against the Go types, using their
// yaml tags, and fills in the value as it goes. Checking and decoding in one
// walk means every unknown key and every wrong type in a file is reported
// (with its line and column), not just the first, and that what is checked
// is exactly what is decoded. It also records where each value was written,
// so that later checks can point at the right line.

// Limits on what the decoder accepts from a file. The YAML parser takes
// time quadratic in the keys of one mapping and in the depth of flow
// nesting, so a file is bounded in size, lines and flow depth before it is
// parsed; real configurations are far below these bounds.
const (
	maxFileSize  = 512 << 10 // bytes
	maxLines     = 20_000
	maxNodes     = 100_000 // values decoded, after expanding aliases
	maxNestDepth = 64
)

type position struct{ line, col int }

// located is where a value was written: the key's position and the
// value's, and whether the value is a scalar (problems about a scalar point
// at the value, problems about a block at its key).
type located struct {
	key, value position
	scalar     bool
}

// index records where every path of one file was written, and the order of
// the keys of every mapping decoded into a Go map.
type index struct {
	at    map[string]located
	order map[string][]string
	// broken holds the paths whose values could not be decoded. Problems
	// found later at or below them are not reported: the decoding problem
	// already says what is wrong, and what follows from it is noise.
	broken map[string]bool
}

// isBroken reports whether path or one of its ancestors could not be
// decoded.
func (ix *index) isBroken(path string) bool {
	for p := path; ; p = parentPath(p) {
		if ix.broken[p] {
			return true
		}
		if p == "" {
			return false
		}
	}
}

// lookup finds the position for path, walking up to the nearest written
// ancestor. It reports the path that was found.
func (ix *index) lookup(path string) (position, string, bool) {
	for p := path; ; p = parentPath(p) {
		if l, ok := ix.at[p]; ok {
			if l.scalar {
				return l.value, p, true
			}
			return l.key, p, true
		}
		if p == "" {
			return position{}, "", false
		}
	}
}

// parentPath strips the last element of a dotted path: a.b[2] → a.b → a → "".
func parentPath(p string) string {
	if strings.HasSuffix(p, "]") {
		if i := strings.LastIndexByte(p, '['); i >= 0 {
			return p[:i]
		}
	}
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		return p[:i]
	}
	return ""
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// lenient marks a struct type whose unknown keys are ignored (the parts of
// a compose file that are not sc's).
type lenient interface{ lenientYAML() }

// scalarForm lets a struct type also be written as a scalar (compose's
// `build: ./dir`).
type scalarForm interface{ decodeScalar(text string) }

var (
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	lenientType         = reflect.TypeFor[lenient]()
	scalarFormType      = reflect.TypeFor[scalarForm]()
)

type anchor struct {
	offset int
	node   ast.Node
}

type structField struct {
	index int
	name  string
}

type structInfo struct {
	fields  map[string]structField
	names   []string
	lenient bool
}

type decoder struct {
	file      string
	ix        *index
	ps        *problems
	anchors   map[string][]anchor
	expanding map[string]bool
	structs   map[reflect.Type]*structInfo
	budget    int
	tooBig    bool
}

// parseYAML parses one YAML document. Syntax errors become problems. It
// returns nil when there is nothing to decode.
func parseYAML(file string, data []byte, ps *problems) (body ast.Node) {
	if len(data) > maxFileSize {
		ps.add(Problem{File: file, Message: fmt.Sprintf("file is larger than %d KiB", maxFileSize>>10)})
		return nil
	}
	if n := bytes.Count(data, []byte("\n")); n > maxLines {
		ps.add(Problem{File: file, Message: fmt.Sprintf("file has more than %d lines", maxLines)})
		return nil
	}
	if line := tooDeep(data); line > 0 {
		ps.add(Problem{File: file, Line: line, Message: fmt.Sprintf("[ and { are nested more than %d deep", maxNestDepth)})
		return nil
	}
	f, err := safeParse(data)
	if err != nil {
		p := Problem{File: file, Message: "invalid YAML: " + err.Error()}
		if ye, ok := err.(yaml.Error); ok {
			p.Message = "invalid YAML: " + ye.GetMessage()
			if tk := ye.GetToken(); tk != nil && tk.Position != nil {
				p.Line, p.Column = tk.Position.Line, tk.Position.Column
			}
		}
		ps.add(p)
		return nil
	}
	var docs []*ast.DocumentNode
	for _, d := range f.Docs {
		if d != nil && d.Body != nil {
			docs = append(docs, d)
		}
	}
	if len(docs) == 0 {
		ps.add(Problem{File: file, Message: "file is empty"})
		return nil
	}
	if len(docs) > 1 {
		at := nodePos(docs[1].Body)
		ps.add(Problem{File: file, Line: at.line, Column: at.col, Message: "a configuration file holds one YAML document; found more after ---"})
		return nil
	}
	return docs[0].Body
}

// tooDeep returns the line at which flow collections ([ and {) nest more
// than maxNestDepth deep, or 0. It skips quoted strings and comments, well
// enough for a bound: the parser has the last word on syntax.
func tooDeep(data []byte) int {
	depth, line := 0, 1
	var quote, prev byte // prev: the last non-blank byte of the line, 0 at its start
	comment := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case c == '\n':
			line++
			comment, prev = false, 0
			continue
		case comment:
		case quote != 0:
			if c == '\\' && quote == '"' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '#' && (i == 0 || data[i-1] == ' ' || data[i-1] == '\t'):
			comment = true
		case (c == '\'' || c == '"') && (prev == 0 || strings.IndexByte(":-[{,?", prev) >= 0):
			// A quote opens a quoted scalar only where a value starts;
			// elsewhere (don't) it is part of a plain scalar.
			quote = c
		case c == '[' || c == '{':
			if depth++; depth > maxNestDepth {
				return line
			}
		case c == ']' || c == '}':
			depth = max(depth-1, 0)
		}
		if c != ' ' && c != '\t' {
			prev = c
		}
	}
	return 0
}

// safeParse parses data, turning a panic in the parser into an error: a
// file must never crash sc.
func safeParse(data []byte) (f *ast.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("cannot parse: %v", r)
		}
	}()
	return parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey()) // the decoder reports them, with the rest
}

func newDecoder(file string, ps *problems) *decoder {
	return &decoder{
		file:      file,
		ix:        &index{at: map[string]located{}, order: map[string][]string{}, broken: map[string]bool{}},
		ps:        ps,
		anchors:   map[string][]anchor{},
		expanding: map[string]bool{},
		structs:   map[reflect.Type]*structInfo{},
		budget:    maxNodes,
	}
}

// decodeInto decodes the document body into v, a pointer.
func (d *decoder) decodeInto(body ast.Node, v any) {
	d.collectAnchors(body, 0)
	d.decode(body, reflect.ValueOf(v).Elem(), "", 0)
}

// problem reports that the value at path could not be decoded.
func (d *decoder) problem(at position, path, format string, args ...any) {
	d.ix.broken[path] = true
	d.report(at, path, format, args...)
}

// report reports a problem that leaves the value at path usable.
func (d *decoder) report(at position, path, format string, args ...any) {
	d.ps.add(Problem{File: d.file, Line: at.line, Column: at.col, Path: path, Message: fmt.Sprintf(format, args...)})
}

// collectAnchors records every anchor with its offset, so that an alias
// resolves to the latest anchor of its name defined before it.
func (d *decoder) collectAnchors(n ast.Node, depth int) {
	if n == nil || depth > maxNestDepth*4 {
		return
	}
	switch n := n.(type) {
	case *ast.AnchorNode:
		if name := anchorName(n.Name); name != "" {
			d.anchors[name] = append(d.anchors[name], anchor{offset: offsetOf(n.Start), node: n.Value})
		}
		d.collectAnchors(n.Value, depth+1)
	case *ast.MappingNode:
		for _, v := range n.Values {
			d.collectAnchors(v, depth+1)
		}
	case *ast.MappingValueNode:
		d.collectAnchors(n.Key, depth+1)
		d.collectAnchors(n.Value, depth+1)
	case *ast.MappingKeyNode:
		d.collectAnchors(n.Value, depth+1)
	case *ast.SequenceNode:
		for _, v := range n.Values {
			d.collectAnchors(v, depth+1)
		}
	case *ast.TagNode:
		d.collectAnchors(n.Value, depth+1)
	}
}

func anchorName(n ast.Node) string {
	if n == nil {
		return ""
	}
	if s, ok := n.(*ast.StringNode); ok {
		return s.Value
	}
	if tk := n.GetToken(); tk != nil {
		return tk.Value
	}
	return ""
}

func offsetOf(tk *token.Token) int {
	if tk == nil || tk.Position == nil {
		return 0
	}
	return tk.Position.Offset
}

// nodePos is where a node starts: for a block mapping its first key.
func nodePos(n ast.Node) position {
	if n == nil {
		return position{}
	}
	var tk *token.Token
	switch n := n.(type) {
	case *ast.MappingNode:
		if len(n.Values) > 0 && !n.IsFlowStyle {
			return nodePos(n.Values[0].Key)
		}
		tk = n.Start
	case *ast.MappingValueNode:
		return nodePos(n.Key)
	case *ast.SequenceNode:
		tk = n.Start
	case *ast.AnchorNode:
		tk = n.Start
	case *ast.AliasNode:
		tk = n.Start
	case *ast.TagNode:
		tk = n.Start
	case *ast.LiteralNode:
		tk = n.Start
	case *ast.MappingKeyNode:
		tk = n.Start
	case *ast.DocumentNode:
		return nodePos(n.Body)
	default:
		tk = n.GetToken()
	}
	if tk == nil || tk.Position == nil {
		return position{}
	}
	return position{line: tk.Position.Line, col: tk.Position.Column}
}

// deref follows anchors, aliases and tags to the node holding the value. It
// returns nil for an unknown or self-referencing alias (after reporting it)
// and a release func that must be called once the value is decoded.
func (d *decoder) deref(n ast.Node, path string) (ast.Node, func()) {
	var held []string
	release := func() {
		for _, name := range held {
			delete(d.expanding, name)
		}
	}
	for range maxNestDepth {
		switch x := n.(type) {
		case *ast.AnchorNode:
			n = x.Value
		case *ast.TagNode:
			n = x.Value
		case *ast.AliasNode:
			name := anchorName(x.Value)
			target := d.anchorBefore(name, offsetOf(x.Start))
			switch {
			case target == nil:
				d.problem(nodePos(x), path, "unknown alias *%s", name)
				return nil, release
			case d.expanding[name]:
				d.problem(nodePos(x), path, "alias *%s refers to itself", name)
				return nil, release
			}
			d.expanding[name] = true
			held = append(held, name)
			n = target
		default:
			return n, release
		}
	}
	d.problem(nodePos(n), path, "too many nested anchors, aliases or tags")
	return nil, release
}

func (d *decoder) anchorBefore(name string, offset int) ast.Node {
	var found ast.Node
	for _, a := range d.anchors[name] {
		if a.offset < offset {
			found = a.node
		}
	}
	return found
}

// scalar returns the text of a scalar node and a word for its kind.
func scalar(n ast.Node) (text, kind string, ok bool) {
	switch n := n.(type) {
	case *ast.StringNode:
		return n.Value, "string", true
	case *ast.LiteralNode:
		if n.Value == nil {
			return "", "string", true
		}
		return n.Value.Value, "string", true
	case *ast.IntegerNode:
		return tokenValue(n.Token), "integer", true
	case *ast.FloatNode:
		return tokenValue(n.Token), "number", true
	case *ast.BoolNode:
		return tokenValue(n.Token), "boolean", true
	case *ast.InfinityNode:
		return tokenValue(n.Token), "number", true
	case *ast.NanNode:
		return tokenValue(n.Token), "number", true
	}
	return "", "", false
}

func tokenValue(tk *token.Token) string {
	if tk == nil {
		return ""
	}
	return tk.Value
}

// describe says what a node is, for "expected …, got …" messages.
func describe(n ast.Node) string {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.NullNode, nil:
		return "nothing"
	}
	text, kind, ok := scalar(n)
	if !ok {
		return "a " + n.Type().YAMLName()
	}
	if kind == "string" {
		if utf8.RuneCountInString(text) > 40 {
			text = string([]rune(text)[:40]) + "…"
		}
		return strconv.Quote(text)
	}
	return text
}

func isNull(n ast.Node) bool {
	_, ok := n.(*ast.NullNode)
	return n == nil || ok
}

// decode decodes node into v (settable), reporting problems under path. It
// reports whether v was set without problems.
func (d *decoder) decode(node ast.Node, v reflect.Value, path string, depth int) bool {
	if d.budget--; d.budget < 0 {
		if !d.tooBig {
			d.tooBig = true
			d.ix.broken[""] = true // nothing more about this file is worth saying
			d.problem(nodePos(node), path, "document is too large: more than %d values after expanding aliases", maxNodes)
		}
		return false
	}
	if depth > maxNestDepth {
		d.problem(nodePos(node), path, "nested too deeply")
		return false
	}
	n, release := d.deref(node, path)
	defer release()
	if n == nil && node != nil {
		return false // reported by deref
	}
	at := nodePos(n)
	t := v.Type()

	if isNull(n) {
		// An empty block (`signing:`) is present; an empty scalar is unset.
		if t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct && !reflect.PointerTo(t.Elem()).Implements(textUnmarshalerType) && v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		return true
	}

	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		text, _, ok := scalar(n)
		if !ok {
			d.problem(at, path, "expected a string, got %s", describe(n))
			return false
		}
		target := reflect.New(t)
		if err := target.Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(text)); err != nil {
			d.problem(at, path, "%s", err.Error())
			return false
		}
		v.Set(target.Elem())
		return true
	}

	switch t.Kind() {
	case reflect.Pointer:
		target := v
		if v.IsNil() {
			target = reflect.New(t.Elem())
		}
		if !d.decode(n, target.Elem(), path, depth) && t.Elem().Kind() != reflect.Struct {
			return false
		}
		v.Set(target)
		return true
	case reflect.Struct:
		return d.decodeStruct(n, v, path, depth)
	case reflect.Map:
		return d.decodeMap(n, v, path, depth)
	case reflect.Slice:
		return d.decodeSlice(n, v, path, depth)
	case reflect.String:
		text, _, ok := scalar(n)
		if !ok {
			d.problem(at, path, "expected a string, got %s", describe(n))
			return false
		}
		v.SetString(text)
		return true
	case reflect.Bool:
		b, ok := n.(*ast.BoolNode)
		if !ok {
			d.problem(at, path, "expected a boolean (true or false), got %s", describe(n))
			return false
		}
		v.SetBool(b.Value)
		return true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		x, ok := intValue(n)
		if !ok || v.OverflowInt(x) {
			d.problem(at, path, "expected an integer, got %s", describe(n))
			return false
		}
		v.SetInt(x)
		return true
	}
	d.problem(at, path, "cannot decode into %s", t)
	return false
}

func intValue(n ast.Node) (int64, bool) {
	i, ok := n.(*ast.IntegerNode)
	if !ok {
		return 0, false
	}
	switch x := i.Value.(type) {
	case int64:
		return x, true
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), true
		}
	}
	return 0, false
}

type entry struct {
	key   string
	keyAt position
	value ast.Node
}

// entries lists a mapping's key/value pairs, expanding merge keys (<<):
// keys written in the mapping win over merged ones, and earlier merged
// mappings over later ones.
func (d *decoder) entries(n ast.Node, path string, depth int) ([]entry, bool) {
	var values []*ast.MappingValueNode
	switch m := n.(type) {
	case *ast.MappingNode:
		values = m.Values
	case *ast.MappingValueNode:
		values = []*ast.MappingValueNode{m}
	default:
		return nil, false
	}
	var own, merged []entry
	for _, mv := range values {
		if mv == nil {
			continue
		}
		if mv.Key != nil && mv.Key.IsMergeKey() {
			merged = append(merged, d.mergeEntries(mv.Value, path, depth+1)...)
			continue
		}
		keyNode, release := d.deref(mv.Key, path)
		if mk, ok := keyNode.(*ast.MappingKeyNode); ok {
			release()
			keyNode, release = d.deref(mk.Value, path)
		}
		text, _, ok := scalar(keyNode)
		release()
		if !ok {
			d.report(nodePos(mv.Key), path, "keys must be strings, got %s", describe(keyNode))
			continue
		}
		own = append(own, entry{key: text, keyAt: nodePos(mv.Key), value: mv.Value})
	}
	first := map[string]position{}
	out := make([]entry, 0, len(own)+len(merged))
	for _, e := range own {
		if at, dup := first[e.key]; dup {
			d.report(e.keyAt, joinKey(path, e.key), "`%s` is defined twice (first at line %d)", e.key, at.line)
			continue
		}
		first[e.key] = e.keyAt
		out = append(out, e)
	}
	for _, e := range merged {
		if _, dup := first[e.key]; !dup {
			first[e.key] = e.keyAt
			out = append(out, e)
		}
	}
	return out, true
}

func (d *decoder) mergeEntries(value ast.Node, path string, depth int) []entry {
	if d.budget--; d.budget < 0 {
		if !d.tooBig {
			d.tooBig = true
			d.ix.broken[""] = true // nothing more about this file is worth saying
			d.problem(nodePos(value), path, "document is too large: more than %d values after expanding aliases", maxNodes)
		}
		return nil
	}
	if depth > maxNestDepth {
		d.problem(nodePos(value), path, "nested too deeply")
		return nil
	}
	n, release := d.deref(value, path)
	defer release()
	if n == nil {
		return nil
	}
	if seq, ok := n.(*ast.SequenceNode); ok {
		var out []entry
		for _, item := range seq.Values {
			out = append(out, d.mergeEntries(item, path, depth+1)...)
		}
		return out
	}
	es, ok := d.entries(n, path, depth+1)
	if !ok {
		d.problem(nodePos(n), path, "<< needs a mapping or a list of mappings, got %s", describe(n))
	}
	return es
}

func (d *decoder) record(path string, keyAt position, value ast.Node) {
	n, release := d.deref(value, path)
	release()
	_, _, isScalar := scalar(n)
	valueAt := nodePos(n)
	if n == nil || isNull(n) {
		valueAt = keyAt
	}
	d.ix.at[path] = located{key: keyAt, value: valueAt, scalar: isScalar}
}

func (d *decoder) info(t reflect.Type) *structInfo {
	if si, ok := d.structs[t]; ok {
		return si
	}
	si := &structInfo{fields: map[string]structField{}, lenient: reflect.PointerTo(t).Implements(lenientType)}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name := fieldName(f)
		if name == "-" {
			continue
		}
		si.fields[name] = structField{index: i, name: name}
		si.names = append(si.names, name)
	}
	d.structs[t] = si
	return si
}

// fieldName is a field's key: its yaml tag, else its json tag, else its Go
// name.
func fieldName(f reflect.StructField) string {
	tag := f.Tag.Get("yaml")
	if tag == "" {
		tag = f.Tag.Get("json")
	}
	name, _, _ := strings.Cut(tag, ",")
	if name == "" {
		return f.Name
	}
	return name
}

func (d *decoder) decodeStruct(n ast.Node, v reflect.Value, path string, depth int) bool {
	t := v.Type()
	es, ok := d.entries(n, path, depth)
	if !ok {
		if text, _, isScalar := scalar(n); isScalar && reflect.PointerTo(t).Implements(scalarFormType) {
			v.Addr().Interface().(scalarForm).decodeScalar(text)
			return true
		}
		d.problem(nodePos(n), path, "expected a mapping, got %s", describe(n))
		return false
	}
	si := d.info(t)
	clean := true
	for _, e := range es {
		p := joinKey(path, e.key)
		f, known := si.fields[e.key]
		if !known {
			if si.lenient {
				// compose's keys are compose's business, but a misspelt
				// x-sc-security would silently turn security off
				if msg := unknownExtension(e.key, si.names); msg != "" {
					d.problem(e.keyAt, p, "%s", msg)
					clean = false
				}
				continue
			}
			msg := fmt.Sprintf("unknown field `%s`", e.key)
			if s := suggest(e.key, si.names); s != "" {
				msg += fmt.Sprintf("; did you mean `%s`?", s)
			}
			d.problem(e.keyAt, p, "%s", msg)
			clean = false
			continue
		}
		d.record(p, e.keyAt, e.value)
		if !d.decode(e.value, v.Field(f.index), p, depth+1) {
			clean = false
		}
	}
	return clean
}

func (d *decoder) decodeMap(n ast.Node, v reflect.Value, path string, depth int) bool {
	t := v.Type()
	if t.Key().Kind() != reflect.String {
		d.problem(nodePos(n), path, "cannot decode into %s", t)
		return false
	}
	es, ok := d.entries(n, path, depth)
	if !ok {
		d.problem(nodePos(n), path, "expected a mapping, got %s", describe(n))
		return false
	}
	if v.IsNil() {
		v.Set(reflect.MakeMapWithSize(t, len(es)))
	}
	clean := true
	var order []string
	for _, e := range es {
		p := joinKey(path, e.key)
		d.record(p, e.keyAt, e.value)
		elem := reflect.New(t.Elem()).Elem()
		if !d.decode(e.value, elem, p, depth+1) {
			clean = false
		}
		if elem.Kind() == reflect.Pointer && elem.IsNil() && elem.Type().Elem().Kind() == reflect.Struct {
			elem.Set(reflect.New(elem.Type().Elem()))
		}
		v.SetMapIndex(reflect.ValueOf(e.key).Convert(t.Key()), elem)
		order = append(order, e.key)
	}
	d.ix.order[path] = order
	return clean
}

func (d *decoder) decodeSlice(n ast.Node, v reflect.Value, path string, depth int) bool {
	seq, ok := n.(*ast.SequenceNode)
	if !ok {
		d.problem(nodePos(n), path, "expected a list, got %s", describe(n))
		return false
	}
	out := reflect.MakeSlice(v.Type(), 0, len(seq.Values))
	clean := true
	for i, item := range seq.Values {
		p := fmt.Sprintf("%s[%d]", path, i)
		at := nodePos(item)
		d.record(p, at, item)
		elem := reflect.New(v.Type().Elem()).Elem()
		if !d.decode(item, elem, p, depth+1) {
			clean = false
		}
		out = reflect.Append(out, elem)
	}
	v.Set(out)
	return clean
}
