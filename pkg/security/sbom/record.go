package sbom

import (
	"context"
	"io"
	"path"
	"runtime"
	"slices"
	"strings"
	"sync"

	syftfile "github.com/anchore/syft/syft/file"
	"github.com/anchore/syft/syft/source"
	"github.com/bmatcuk/doublestar/v4"
)

// queries is everything syft's cataloguers asked of the file tree in one
// cataloguing run and every file they were answered with. A cataloguer sees
// the image only through its file resolver, so two trees that give the same
// answers to these questions, and the same content for those files, make
// syft find the same packages (see the package documentation).
type queries struct {
	// Paths are the paths asked for by FilesByPath, RelativeFileByPath and
	// HasPath.
	Paths []string `json:"paths,omitempty"`
	// Globs are the patterns asked for by FilesByGlob.
	Globs []string `json:"globs,omitempty"`
	// MIMETypes are the types asked for by FilesByMIMEType.
	MIMETypes []string `json:"mimeTypes,omitempty"`
	// Answers are the files the resolver returned or was asked to read.
	Answers []answer `json:"answers,omitempty"`
	// AllLocations: a cataloguer walked every file; no change of the tree
	// is then known to leave the result alone.
	AllLocations bool `json:"allLocations,omitempty"`
	// NixStoreWalk: syft's Nix store cataloguer walked every file. It acts
	// only on files whose path holds "nix/store/" (the walked ones are among
	// Answers), so a change elsewhere leaves its result alone.
	NixStoreWalk bool `json:"nixStoreWalk,omitempty"`
	// Links are the symbolic links the answers were reached through (see
	// linksOn).
	Links []string `json:"links,omitempty"`
}

// nixStoreWalker is the function of syft v1.57 that walks every file for
// the Nix store cataloguer; see queries.NixStoreWalk.
const nixStoreWalker = "github.com/anchore/syft/syft/pkg/cataloger/nix.storeCataloger.findPackagesFromStore"

// nixStorePart is what the Nix store cataloguer looks for in a path.
const nixStorePart = "nix/store"

// caller names the function that called the function calling caller.
func caller() string {
	pc := make([]uintptr, 1)
	if runtime.Callers(3, pc) == 0 {
		return ""
	}
	f, _ := runtime.CallersFrames(pc).Next()
	return f.Function
}

// answer is one file a resolver returned: the path asked for and the path
// it resolved to through links.
type answer struct {
	Access string `json:"access"`
	Real   string `json:"real"`
}

// recorder collects queries.
type recorder struct {
	mu      sync.Mutex
	paths   map[string]bool
	globs   map[string]bool
	mimes   map[string]bool
	answers map[answer]bool
	all     bool
	nix     bool
}

func newRecorder() *recorder {
	return &recorder{paths: map[string]bool{}, globs: map[string]bool{}, mimes: map[string]bool{}, answers: map[answer]bool{}}
}

func (r *recorder) add(set map[string]bool, vs ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range vs {
		set[v] = true
	}
}

func (r *recorder) answered(locs ...syftfile.Location) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range locs {
		a := answer{Access: l.AccessPath, Real: l.RealPath}
		if a.Access == "" {
			a.Access = a.Real
		}
		r.answers[a] = true
	}
}

// queries returns what was recorded, sorted.
func (r *recorder) queries() queries {
	r.mu.Lock()
	defer r.mu.Unlock()
	keys := func(m map[string]bool) []string {
		s := make([]string, 0, len(m))
		for k := range m {
			s = append(s, k)
		}
		slices.Sort(s)
		return s
	}
	q := queries{Paths: keys(r.paths), Globs: keys(r.globs), MIMETypes: keys(r.mimes), AllLocations: r.all, NixStoreWalk: r.nix}
	for a := range r.answers {
		q.Answers = append(q.Answers, a)
	}
	slices.SortFunc(q.Answers, func(a, b answer) int {
		if c := strings.Compare(a.Access, b.Access); c != 0 {
			return c
		}
		return strings.Compare(a.Real, b.Real)
	})
	return q
}

// recordingResolver answers from inner and records every question and
// answer.
type recordingResolver struct {
	inner syftfile.Resolver
	rec   *recorder
}

var _ syftfile.Resolver = (*recordingResolver)(nil)

func (r *recordingResolver) FileContentsByLocation(l syftfile.Location) (io.ReadCloser, error) {
	r.rec.answered(l)
	return r.inner.FileContentsByLocation(l)
}

func (r *recordingResolver) FileMetadataByLocation(l syftfile.Location) (syftfile.Metadata, error) {
	r.rec.answered(l)
	return r.inner.FileMetadataByLocation(l)
}

func (r *recordingResolver) HasPath(p string) bool {
	r.rec.add(r.rec.paths, p)
	return r.inner.HasPath(p)
}

func (r *recordingResolver) FilesByPath(paths ...string) ([]syftfile.Location, error) {
	r.rec.add(r.rec.paths, paths...)
	locs, err := r.inner.FilesByPath(paths...)
	r.rec.answered(locs...)
	return locs, err
}

func (r *recordingResolver) FilesByGlob(patterns ...string) ([]syftfile.Location, error) {
	r.rec.add(r.rec.globs, patterns...)
	locs, err := r.inner.FilesByGlob(patterns...)
	r.rec.answered(locs...)
	return locs, err
}

func (r *recordingResolver) FilesByMIMEType(types ...string) ([]syftfile.Location, error) {
	r.rec.add(r.rec.mimes, types...)
	locs, err := r.inner.FilesByMIMEType(types...)
	r.rec.answered(locs...)
	return locs, err
}

func (r *recordingResolver) RelativeFileByPath(l syftfile.Location, p string) *syftfile.Location {
	r.rec.add(r.rec.paths, p)
	r.rec.answered(l)
	got := r.inner.RelativeFileByPath(l, p)
	if got != nil {
		r.rec.answered(*got)
	}
	return got
}

// AllLocations walks every file. A walk by syft's Nix store cataloguer is
// recorded as that (its files in a Nix store as answers); any other walk
// makes the record unusable for composition.
func (r *recordingResolver) AllLocations(ctx context.Context) <-chan syftfile.Location {
	nix := caller() == nixStoreWalker
	r.rec.mu.Lock()
	if nix {
		r.rec.nix = true
	} else {
		r.rec.all = true
	}
	r.rec.mu.Unlock()
	in := r.inner.AllLocations(ctx)
	if !nix {
		return in
	}
	out := make(chan syftfile.Location)
	go func() {
		defer close(out)
		for l := range in {
			if strings.Contains(l.RealPath, nixStorePart) || strings.Contains(l.AccessPath, nixStorePart) {
				r.rec.answered(l)
			}
			select {
			case out <- l:
			case <-ctx.Done():
				// the inner walk ends with ctx too
				for range in {
				}
				return
			}
		}
	}()
	return out
}

// recordingSource is a source whose file resolver records.
type recordingSource struct {
	source.Source
	rec *recorder
}

func (s recordingSource) FileResolver(scope source.Scope) (syftfile.Resolver, error) {
	res, err := s.Source.FileResolver(scope)
	if err != nil {
		return nil, err
	}
	return &recordingResolver{inner: res, rec: s.rec}, nil
}

// ExcludedPaths passes on the inner source's exclusions, which syft reads
// off the source when it selects its tasks.
func (s recordingSource) ExcludedPaths() []string {
	if e, ok := s.Source.(source.PathExcluder); ok {
		return e.ExcludedPaths()
	}
	return nil
}

// change is one entry of an upper layer's tar: a path it writes, or one it
// removes.
type change struct {
	// Path is the absolute path written or removed (for a whiteout, the
	// path it hides; for an opaque whiteout, the directory emptied).
	Path string
	// Kind says what the entry is.
	Kind changeKind
	// MIMEType is the content type stereoscope gave a regular file.
	MIMEType string
}

type changeKind int

const (
	changeFile changeKind = iota
	changeDir
	changeLink
	changeRemove
)

// affectedBy says why a tree changed by cs could answer q differently than
// the tree q was recorded on, or "" when it cannot. It errs towards a
// reason: a change it cannot rule out is one.
func (q queries) affectedBy(cs []change) string {
	if q.AllLocations {
		return "a cataloguer walks every file"
	}
	mimes := map[string]bool{}
	for _, m := range q.MIMETypes {
		mimes[m] = true
	}
	// paths that were asked for or answered, and the answers reached
	// through a link
	asked := map[string]bool{}
	var linked []string
	for _, p := range q.Paths {
		asked[path.Clean("/"+p)] = true
	}
	for _, a := range q.Answers {
		asked[a.Access] = true
		asked[a.Real] = true
		if a.Access != a.Real {
			linked = append(linked, a.Access)
		}
	}
	under := func(p, dir string) bool {
		return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
	}
	for _, c := range cs {
		for _, l := range q.Links {
			if under(c.Path, l) {
				return "an upper layer writes or removes " + c.Path + " at or below the link " + l
			}
		}
		switch c.Kind {
		case changeLink:
			return "an upper layer writes the link or special file " + c.Path
		case changeRemove:
			for p := range asked {
				if under(p, c.Path) {
					return "an upper layer removes " + p
				}
			}
			continue
		case changeDir:
			// a directory where a link was changes what is below it
			for _, p := range linked {
				if p != c.Path && under(p, c.Path) {
					return "an upper layer writes the directory " + c.Path + " above the link-reached " + p
				}
			}
		case changeFile:
			if mimes[c.MIMEType] {
				return "an upper layer writes " + c.Path + " of type " + c.MIMEType
			}
		}
		if asked[c.Path] {
			return "an upper layer writes " + c.Path
		}
		if q.NixStoreWalk && strings.Contains(c.Path, nixStorePart) {
			return "an upper layer writes " + c.Path + " in a Nix store"
		}
		for _, g := range q.Globs {
			if ok, err := doublestar.Match(g, c.Path); ok || err != nil {
				return "an upper layer writes " + c.Path + ", matching " + g
			}
		}
	}
	return ""
}
