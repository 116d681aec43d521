package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"

	"github.com/sc-project/sc/pkg/outcome"
)

// Release is what sc secures in one run: the services of one stack, each
// with its effective security configuration.
type Release struct {
	// File is the configuration file the release was loaded from.
	File string `json:"file" yaml:"file"`
	// Stack is the selected stack; empty for a compose file.
	Stack string `json:"stack,omitempty" yaml:"stack,omitempty"`
	// Services are in the order the file lists them.
	Services []Service `json:"services" yaml:"services"`
	// Warnings are things worth knowing that do not stop the release:
	// compose services skipped for lack of an image, expired ignore rules.
	Warnings []Problem `json:"warnings,omitempty" yaml:"warnings,omitempty"`
}

// Service is one image of a release.
type Service struct {
	// Name is the service's name in the file.
	Name string `json:"name" yaml:"name"`
	// Image is the image reference as written (a tag or a digest).
	Image string `json:"image" yaml:"image"`
	// Dockerfile is the path of the Dockerfile, relative to the working
	// directory; empty when unknown.
	Dockerfile string `json:"dockerfile,omitempty" yaml:"dockerfile,omitempty"`
	// Context is the build context directory, relative to the working
	// directory; empty when unknown.
	Context string `json:"context,omitempty" yaml:"context,omitempty"`
	// Security is the effective configuration: the file's, the parents',
	// the stack's and the service's blocks merged, with defaults applied.
	// Paths in it (keys, ${file:…} references, VEX documents) are relative
	// to the working directory.
	Security Security `json:"security" yaml:"security"`
}

// LoadOption configures Load and LoadAll.
type LoadOption func(*loadConfig)

type loadConfig struct {
	stack    string
	readFile func(string) ([]byte, error)
	now      time.Time

	policyChecks []func(*ImagePolicy) []Problem // LoadPolicy only
}

// WithStack selects the stack to load. Default: the file's only stack, or
// else its only stack that has services.
func WithStack(name string) LoadOption { return func(c *loadConfig) { c.stack = name } }

// WithReadFile reads files through fn instead of the file system. Default:
// reading from the file system, at most 1 MiB per file.
func WithReadFile(fn func(name string) ([]byte, error)) LoadOption {
	return func(c *loadConfig) { c.readFile = fn }
}

// WithNow sets the time against which ignore rules' expiry dates are
// checked. Default: the current time.
func WithNow(t time.Time) LoadOption { return func(c *loadConfig) { c.now = t } }

// Load reads the configuration file at path (an sc stack file or a
// docker-compose file), follows its parents, and returns the release of
// one stack with every service's effective security.
//
// Every problem in the files is reported at once, as a *ValidationError in
// the outcome.ErrInvalid class: unknown keys, wrong types, invalid values,
// settings that cannot work together, unknown or cyclic parents. A main
// file that does not exist is also invalid; other read failures are
// operational.
func Load(ctx context.Context, path string, opts ...LoadOption) (*Release, error) {
	l, f, err := newLoader(ctx, path, opts)
	if err != nil {
		return nil, err
	}
	var rel *Release
	if f != nil {
		if name, ok := l.selectStack(f); ok {
			rel = l.release(f, name)
		}
	}
	if err := l.finish(); err != nil {
		return nil, err
	}
	return rel, nil
}

// LoadAll is Load for every stack of the file that has services (a compose
// file has one release). It checks the whole file, so it is what
// validating a file without choosing a stack means; a file of base stacks
// or file-wide security only (a parent for other files) yields no release
// and no error. WithStack is ignored.
func LoadAll(ctx context.Context, path string, opts ...LoadOption) ([]*Release, error) {
	l, f, err := newLoader(ctx, path, opts)
	if err != nil {
		return nil, err
	}
	var out []*Release
	switch {
	case f == nil:
	case f.compose != nil:
		out = append(out, l.release(f, ""))
	case f.stack != nil:
		// Every stack's parents are resolved, so that a broken base stack
		// is reported even when no service uses it yet.
		for _, name := range f.ix.order["stacks"] {
			if st := f.stack.Stacks[name]; st != nil && len(st.Services) > 0 {
				out = append(out, l.release(f, name))
			} else if st != nil {
				l.stackChain(f, name, nil)
			}
		}
	}
	if err := l.finish(); err != nil {
		return nil, err
	}
	return out, nil
}

type configFile struct {
	path    string
	dir     string
	ix      *index
	stack   *StackFile   // set for a stack file
	compose *composeFile // set for a compose file
}

// layer is one security block on the way to a service's configuration.
type layer struct {
	file *configFile
	base string // the block's path in its file
	sec  *Security
}

type chain struct {
	layers []layer
	ok     bool
}

type loader struct {
	ctx    context.Context
	cfg    loadConfig
	ps     problems
	files  map[string]*configFile // nil: could not be read or parsed
	chains map[string]chain
	fatal  error
}

func newLoader(ctx context.Context, path string, opts []LoadOption) (*loader, *configFile, error) {
	l := &loader{ctx: ctx, files: map[string]*configFile{}, chains: map[string]chain{}}
	for _, o := range opts {
		o(&l.cfg)
	}
	if l.cfg.readFile == nil {
		l.cfg.readFile = readLimited
	}
	if l.cfg.now.IsZero() {
		l.cfg.now = time.Now()
	}
	path = filepath.Clean(path)
	l.ps.registerFile(path) // the main file's problems sort first
	f, err := l.open(path, nil, "")
	if err != nil {
		return nil, nil, err
	}
	return l, f, nil
}

func (l *loader) finish() error {
	if l.fatal != nil {
		return l.fatal
	}
	return l.ps.err()
}

// readLimited reads a file of at most maxFileSize bytes.
func readLimited(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	return b, nil
}

// at reports a problem at path in f.
func (l *loader) at(f *configFile, path, format string, args ...any) {
	if f.ix.isBroken(path) {
		return
	}
	p := Problem{File: f.path, Path: path, Message: fmt.Sprintf(format, args...)}
	if pos, _, ok := f.ix.lookup(path); ok {
		p.Line, p.Column = pos.line, pos.col
	}
	l.ps.add(p)
}

// open reads, parses, decodes and checks one file, once. from and fromPath
// name the parent reference that led here; both are empty for the main
// file, whose read errors are returned rather than reported.
func (l *loader) open(path string, from *configFile, fromPath string) (*configFile, error) {
	if f, ok := l.files[path]; ok {
		return f, nil
	}
	if err := l.ctx.Err(); err != nil {
		return nil, err
	}
	l.files[path] = nil
	data, err := l.cfg.readFile(path)
	if err != nil {
		if from == nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, outcome.Invalidf("reading configuration: %w", err)
			}
			return nil, outcome.Operationalf("reading configuration: %w", err)
		}
		l.at(from, fromPath, "cannot read parent %s: %v", path, errors.Unwrap(err))
		return nil, nil
	}
	body := parseYAML(path, data, &l.ps)
	if body == nil {
		return nil, nil
	}
	f := &configFile{path: path, dir: filepath.Dir(path)}
	d := newDecoder(path, &l.ps)
	f.ix = d.ix
	keys, isMap := topKeys(body)
	switch {
	case !isMap:
		pos := nodePos(body)
		l.ps.add(Problem{File: path, Line: pos.line, Column: pos.col, Message: "expected a mapping with `stacks:` (an sc stack file) or `services:` (a compose file), got " + describe(body)})
		return nil, nil
	case slices.Contains(keys, "services") && !slices.Contains(keys, "stacks"):
		f.compose = &composeFile{}
		d.decodeInto(body, f.compose)
		l.checkCompose(f)
	default:
		f.stack = &StackFile{}
		d.decodeInto(body, f.stack)
		l.checkStackFile(f)
	}
	l.files[path] = f
	return f, nil
}

func topKeys(body ast.Node) ([]string, bool) {
	m, ok := body.(*ast.MappingNode)
	if !ok {
		if mv, isMV := body.(*ast.MappingValueNode); isMV {
			m, ok = &ast.MappingNode{Values: []*ast.MappingValueNode{mv}}, true
		}
	}
	if !ok {
		return nil, false
	}
	var keys []string
	for _, mv := range m.Values {
		if mv == nil {
			continue
		}
		if text, _, isScalar := scalar(mv.Key); isScalar {
			keys = append(keys, text)
		}
	}
	return keys, true
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

func validName(name string) bool {
	return nameRE.MatchString(name) && !strings.HasSuffix(name, ".yaml") && !strings.HasSuffix(name, ".yml")
}

func (l *loader) checkStackFile(f *configFile) {
	sf := f.stack
	if sf.Version != 0 && sf.Version != 1 {
		l.at(f, "version", "unsupported version %d; this sc reads version 1", sf.Version)
	}
	l.checkBlock(f, "security", sf.Security)
	for _, sname := range f.ix.order["stacks"] {
		sp := joinKey("stacks", sname)
		if !validName(sname) {
			l.at(f, sp, "stack names are letters, digits, '.', '_' and '-', and do not end in .yaml or .yml")
		}
		st := sf.Stacks[sname]
		if st == nil {
			continue
		}
		l.checkBlock(f, sp+".security", st.Security)
		for _, name := range f.ix.order[sp+".services"] {
			p := sp + ".services." + name
			if !nameRE.MatchString(name) {
				l.at(f, p, "service names are letters, digits, '.', '_' and '-'")
			}
			svc := st.Services[name]
			if svc == nil {
				continue
			}
			if svc.Image == "" {
				l.at(f, p, "service `%s` needs an image", name)
			} else if msg := checkImage(svc.Image); msg != "" {
				l.at(f, p+".image", "%s", msg)
			}
			svc.Dockerfile = joinPath(f.dir, svc.Dockerfile)
			svc.Context = joinPath(f.dir, svc.Context)
			l.checkBlock(f, p+".security", svc.Security)
		}
	}
}

func (l *loader) checkCompose(f *configFile) {
	cf := f.compose
	l.checkBlock(f, "x-sc-security", cf.Security)
	if len(cf.Services) == 0 {
		l.at(f, "services", "the compose file has no services")
	}
	for _, name := range f.ix.order["services"] {
		svc := cf.Services[name]
		p := "services." + name
		if svc == nil {
			continue
		}
		if svc.Image != "" {
			if strings.Contains(svc.Image, "$") {
				l.at(f, p+".image", "the image uses compose variables, which sc does not expand; validate the output of `docker compose config` instead")
			} else if msg := checkImage(svc.Image); msg != "" {
				l.at(f, p+".image", "%s", msg)
			}
		}
		if b := svc.Build; b != nil && !isURI(b.Context) {
			// Compose resolves the context against the file's directory and
			// the Dockerfile against the context.
			if b.Context == "" {
				b.Context = "."
			}
			if b.Dockerfile == "" {
				b.Dockerfile = "Dockerfile"
			}
			b.Context = joinPath(f.dir, b.Context)
			b.Dockerfile = joinPath(b.Context, b.Dockerfile)
		}
		l.checkBlock(f, p+".x-sc-security", svc.Security)
	}
}

// checkBlock checks one security block on its own and makes the paths in
// it relative to the working directory.
func (l *loader) checkBlock(f *configFile, base string, s *Security) {
	if s == nil {
		return
	}
	var c checks
	s.checkValues(&c)
	for _, is := range c.list {
		l.at(f, joinKey(base, is.path), "%s", is.msg)
	}
	rebase(s, f.dir)
}

func rebase(s *Security, dir string) {
	if sg := s.Signing; sg != nil {
		sg.PrivateKey = sg.PrivateKey.rebase(dir)
		sg.Password = sg.Password.rebase(dir)
		if !looksLikeKeyMaterial(sg.PublicKey) {
			sg.PublicKey = joinPath(dir, sg.PublicKey)
		}
	}
	if sc := s.Scan; sc != nil {
		for i := range sc.VEX {
			sc.VEX[i] = joinPath(dir, sc.VEX[i])
		}
		for i := range sc.Tools {
			if strings.ContainsRune(sc.Tools[i].Path, '/') {
				sc.Tools[i].Path = joinPath(dir, sc.Tools[i].Path)
			}
		}
	}
	if r := s.Reporting; r != nil && r.DefectDojo != nil {
		r.DefectDojo.APIKey = r.DefectDojo.APIKey.rebase(dir)
	}
}

// checkImage does a light check of an image reference; the registry
// package parses it fully when the release runs.
func checkImage(ref string) string {
	switch {
	case strings.ContainsAny(ref, " \t\r\n"):
		return "an image reference has no spaces"
	case strings.HasPrefix(ref, "-") || strings.HasSuffix(ref, ":") || strings.HasSuffix(ref, "/") || strings.HasSuffix(ref, "@"):
		return "not a valid image reference"
	}
	repo := ref
	if i := strings.IndexByte(repo, '@'); i >= 0 {
		if !strings.Contains(repo[i+1:], ":") {
			return "a digest is written algorithm:hex, such as @sha256:…"
		}
		repo = repo[:i]
	}
	if i := strings.LastIndexByte(repo, ':'); i > strings.LastIndexByte(repo, '/') {
		repo = repo[:i]
	}
	path := repo
	if i := strings.IndexByte(repo, '/'); i >= 0 {
		path = repo[i+1:] // the first component may be a registry host, which may have upper case letters
	}
	if path != strings.ToLower(path) {
		return "repository names are lower case"
	}
	return ""
}

// selectStack picks the stack Load resolves.
func (l *loader) selectStack(f *configFile) (string, bool) {
	if f.compose != nil {
		if l.cfg.stack != "" {
			l.ps.add(Problem{File: f.path, Message: fmt.Sprintf("stack `%s` requested, but this is a compose file, which has no stacks", l.cfg.stack)})
			return "", false
		}
		return "", true
	}
	names := f.ix.order["stacks"]
	if l.cfg.stack != "" {
		if f.stack.Stacks[l.cfg.stack] != nil {
			return l.cfg.stack, true
		}
		l.ps.add(Problem{File: f.path, Message: notFound("stack", l.cfg.stack, names)})
		return "", false
	}
	switch len(names) {
	case 0:
		l.ps.add(Problem{File: f.path, Message: "the file has no stacks; add a `stacks:` mapping"})
		return "", false
	case 1:
		return names[0], true
	}
	var withServices []string
	for _, n := range names {
		if st := f.stack.Stacks[n]; st != nil && len(st.Services) > 0 {
			withServices = append(withServices, n)
		}
	}
	switch len(withServices) {
	case 1:
		return withServices[0], true
	case 0:
		l.ps.add(Problem{File: f.path, Message: "no stack has services"})
	default:
		l.ps.add(Problem{File: f.path, Message: fmt.Sprintf("several stacks have services (%s); select one with --stack", strings.Join(withServices, ", "))})
	}
	return "", false
}

func notFound(what, name string, names []string) string {
	msg := fmt.Sprintf("%s `%s` not found", what, name)
	if s := suggest(name, names); s != "" {
		msg += fmt.Sprintf("; did you mean `%s`?", s)
	}
	if len(names) == 0 {
		return msg + " (the file has no stacks)"
	}
	return msg + fmt.Sprintf(" (stacks: %s)", strings.Join(names, ", "))
}

// maxParents bounds a parent chain.
const maxParents = 32

// stackChain returns the security layers of stack name in f, parent-most
// first: the file's security, the parent's chain, the stack's own block.
// visiting holds the stacks being resolved, for cycle detection. The result
// is not ok when a parent could not be resolved (already reported).
func (l *loader) stackChain(f *configFile, name string, visiting []string) chain {
	key := f.path + "#" + name
	if c, ok := l.chains[key]; ok {
		return c
	}
	st := f.stack.Stacks[name]
	sp := joinKey("stacks", name)
	layers := []layer{{file: f, base: "security", sec: f.stack.Security}}
	if st.Parent != "" {
		parent, ok := l.parentChain(f, sp+".parent", st.Parent, append(visiting, key))
		if !ok {
			l.chains[key] = chain{}
			return chain{}
		}
		layers = append(layers, parent...)
	}
	layers = append(layers, layer{file: f, base: sp + ".security", sec: st.Security})
	c := chain{layers: layers, ok: true}
	l.chains[key] = c
	return c
}

// parentChain resolves a parent reference written at path refPath of f.
func (l *loader) parentChain(f *configFile, refPath, ref string, visiting []string) ([]layer, bool) {
	if len(visiting) > maxParents {
		l.at(f, refPath, "parent chain is longer than %d stacks", maxParents)
		return nil, false
	}
	file, stack, hasStack := strings.Cut(ref, "#")
	if !hasStack && !strings.HasSuffix(file, ".yaml") && !strings.HasSuffix(file, ".yml") && !strings.ContainsAny(file, `/\`) {
		file, stack, hasStack = "", ref, true
	}
	if hasStack && stack == "" {
		l.at(f, refPath, "parent `%s` names no stack after #", ref)
		return nil, false
	}
	pf := f
	if file != "" {
		p := filepath.Clean(joinPath(f.dir, file))
		if p != f.path {
			var err error
			if pf, err = l.open(p, f, refPath); err != nil {
				l.fatal = err
				return nil, false
			}
			if pf == nil {
				return nil, false // reported where it was read or parsed
			}
		}
	}
	if !hasStack {
		if pf.compose != nil {
			return []layer{{file: pf, base: "x-sc-security", sec: pf.compose.Security}}, true
		}
		return []layer{{file: pf, base: "security", sec: pf.stack.Security}}, true
	}
	if pf.compose != nil {
		l.at(f, refPath, "parent %s is a compose file, which has no stacks; refer to the file without #%s", pf.path, stack)
		return nil, false
	}
	if pf.stack.Stacks[stack] == nil {
		l.at(f, refPath, "parent %s", notFound("stack", stack, pf.ix.order["stacks"]))
		return nil, false
	}
	key := pf.path + "#" + stack
	if i := slices.Index(visiting, key); i >= 0 {
		cycle := append(slices.Clone(visiting[i:]), key)
		l.at(f, refPath, "parent cycle: %s", strings.Join(cycle, " → "))
		return nil, false
	}
	c := l.stackChain(pf, stack, visiting)
	return c.layers, c.ok
}

// release resolves the services of stack name in f ("" for a compose file).
func (l *loader) release(f *configFile, name string) *Release {
	rel := &Release{File: f.path, Stack: name}
	var warnings problems
	type svcSpec struct {
		name, image, dockerfile, context string
		path                             string // the service's path in f
		layers                           []layer
	}
	var specs []svcSpec
	if f.compose != nil {
		top := layer{file: f, base: "x-sc-security", sec: f.compose.Security}
		for _, sname := range f.ix.order["services"] {
			svc := f.compose.Services[sname]
			p := "services." + sname
			if svc == nil || svc.Image == "" {
				pos, _, _ := f.ix.lookup(p)
				warnings.add(Problem{File: f.path, Line: pos.line, Column: pos.col, Path: p, Message: fmt.Sprintf("service `%s` has no image, so sc skips it", sname)})
				continue
			}
			s := svcSpec{name: sname, image: svc.Image, path: p,
				layers: []layer{top, {file: f, base: p + ".x-sc-security", sec: svc.Security}}}
			if svc.Build != nil {
				s.dockerfile, s.context = svc.Build.Dockerfile, svc.Build.Context
			}
			specs = append(specs, s)
		}
	} else {
		c := l.stackChain(f, name, nil)
		if !c.ok {
			return rel
		}
		st := f.stack.Stacks[name]
		for _, sname := range f.ix.order[joinKey("stacks", name)+".services"] {
			svc := st.Services[sname]
			if svc == nil {
				continue
			}
			p := joinKey("stacks", name) + ".services." + sname
			specs = append(specs, svcSpec{name: sname, image: svc.Image, dockerfile: svc.Dockerfile, context: svc.Context, path: p,
				layers: append(slices.Clone(c.layers), layer{file: f, base: p + ".security", sec: svc.Security})})
		}
	}

	outputs := map[string]string{} // SBOM output path → service
	for _, s := range specs {
		eff, origin := l.effective(s.layers)
		svc := Service{Name: s.name, Image: s.image, Dockerfile: s.dockerfile, Context: s.context, Security: *eff}
		sb := svc.Security.SBOM
		sb.Output = strings.ReplaceAll(sb.Output, "{service}", s.name)
		if svc.Security.SBOMEnabled() && sb.Output != "" {
			if other, dup := outputs[sb.Output]; dup {
				l.problemAt(s.layers, origin, "sbom.output", fmt.Sprintf("services `%s` and `%s` would both write their SBOM to %s; put {service} in the path", other, s.name, sb.Output), &l.ps)
			} else {
				outputs[sb.Output] = s.name
			}
		}
		if svc.Security.ScanEnabled() {
			for i, r := range svc.Security.Scan.Ignore {
				if r.Expires.Expired(l.cfg.now) {
					l.problemAt(s.layers, origin, fmt.Sprintf("scan.ignore[%d].expires", i),
						fmt.Sprintf("ignore rule for `%s` expired on %s; its findings count again", r.ID, r.Expires), &warnings)
				}
			}
		}
		rel.Services = append(rel.Services, svc)
	}
	rel.Warnings = warnings.sorted()
	return rel
}

// effective merges a service's layers, applies defaults and checks the
// combination, reporting each problem at the block it comes from.
func (l *loader) effective(layers []layer) (*Security, map[string]int) {
	secs := make([]*Security, len(layers))
	for i, ly := range layers {
		secs[i] = ly.sec
	}
	merged, origin := mergeLayers(secs)
	eff := merged.WithDefaults()
	var c checks
	eff.checkCombinations(&c)
	for _, is := range c.list {
		l.problemAt(layers, origin, is.path, is.msg, &l.ps)
	}
	return eff, origin
}

// problemAt reports a problem about rel, a path in a merged configuration,
// at the layer that set it (or its nearest set ancestor).
func (l *loader) problemAt(layers []layer, origin map[string]int, rel, msg string, into *problems) {
	for p := rel; ; p = parentPath(p) {
		if i, ok := origin[p]; ok {
			ly := layers[i]
			abs := joinKey(ly.base, rel)
			if ly.file.ix.isBroken(abs) {
				return
			}
			pr := Problem{File: ly.file.path, Path: abs, Message: msg}
			if pos, _, found := ly.file.ix.lookup(abs); found {
				pr.Line, pr.Column = pos.line, pos.col
			}
			into.add(pr)
			return
		}
		if p == "" {
			break
		}
	}
	into.add(Problem{Path: rel, Message: msg})
}
