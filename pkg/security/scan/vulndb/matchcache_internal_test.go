package vulndb

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anchore/grype/grype/distro"
	"github.com/anchore/grype/grype/match"
	"github.com/anchore/grype/grype/pkg"
	"github.com/anchore/grype/grype/vulnerability"
	"github.com/anchore/syft/syft/artifact"
	"github.com/anchore/syft/syft/cpe"
	"github.com/anchore/syft/syft/file"
	syftPkg "github.com/anchore/syft/syft/pkg"
)

// samplePackage returns a new package value, every pointer and slice of
// it freshly allocated, with the same content each call.
func samplePackage() pkg.Package {
	end := time.Date(2028, 6, 30, 0, 0, 0, 0, time.UTC)
	d := distro.New(distro.Debian, "12", "bookworm")
	d.SupportEnd = &end
	loc := file.NewLocationFromCoordinates(file.Coordinates{RealPath: "/usr/local/bin/healthcheck", FileSystemID: "sha256:aaaa"})
	return pkg.Package{
		ID: "id-1", Name: "golang.org/x/text", Version: "v0.43.0",
		Locations: file.NewLocationSet(loc),
		Language:  syftPkg.Go, Type: syftPkg.GoModulePkg,
		Distro:    d,
		Licenses:  []string{"BSD-3-Clause"},
		CPEs:      []cpe.CPE{cpe.Must("cpe:2.3:a:golang:text:v0.43.0:*:*:*:*:*:*:*", cpe.GeneratedSource)},
		PURL:      "pkg:golang/golang.org/x/text@v0.43.0",
		Upstreams: []pkg.UpstreamPackage{{Name: "text", Version: "0.43.0"}},
		Metadata:  pkg.GolangBinMetadata{GoCompiledVersion: "go1.26.0", Architecture: "amd64", MainModule: "example.com/healthcheck"},
	}
}

// TestCacheKey checks that two packages get the same key exactly when they
// agree in everything a matcher reads: a change to any of it, including
// the distribution's support end and a location's layer, is another key.
func TestCacheKey(t *testing.T) {
	k := func(p pkg.Package) cacheKey {
		t.Helper()
		key, ok := key(match.GoModuleMatcher, p)
		if !ok {
			t.Fatalf("no key for %v", p)
		}
		return key
	}
	base := k(samplePackage())
	same := samplePackage()
	same.RelatedPackages = map[artifact.RelationshipType][]*pkg.Package{artifact.OwnershipByFileOverlapRelationship: {&pkg.Package{Name: "other"}}}
	if got := k(same); got != base {
		t.Errorf("equal packages (their relations aside) have keys %v and %v", base, got)
	}
	if other, _ := key(match.StockMatcher, samplePackage()); other == base {
		t.Error("two matchers share a key")
	}
	changes := map[string]func(*pkg.Package){
		"id":       func(p *pkg.Package) { p.ID = "id-2" },
		"name":     func(p *pkg.Package) { p.Name = "golang.org/x/net" },
		"version":  func(p *pkg.Package) { p.Version = "v0.44.0" },
		"purl":     func(p *pkg.Package) { p.PURL += "?type=module" },
		"type":     func(p *pkg.Package) { p.Type = syftPkg.GoModulePkg + "x" },
		"language": func(p *pkg.Package) { p.Language = syftPkg.Rust },
		"licenses": func(p *pkg.Package) { p.Licenses = []string{"MIT"} },
		"cpe": func(p *pkg.Package) {
			p.CPEs = []cpe.CPE{cpe.Must("cpe:2.3:a:golang:text:v0.44.0:*:*:*:*:*:*:*", cpe.GeneratedSource)}
		},
		"cpe source":  func(p *pkg.Package) { p.CPEs[0].Source = cpe.DeclaredSource },
		"upstream":    func(p *pkg.Package) { p.Upstreams[0].Version = "0.44.0" },
		"no distro":   func(p *pkg.Package) { p.Distro = nil },
		"distro":      func(p *pkg.Package) { p.Distro = distro.New(distro.Debian, "11", "bullseye") },
		"support end": func(p *pkg.Package) { e := p.Distro.SupportEnd.AddDate(1, 0, 0); p.Distro.SupportEnd = &e },
		"channels":    func(p *pkg.Package) { p.Distro.Channels = []string{"eus"} },
		"layer": func(p *pkg.Package) {
			p.Locations = file.NewLocationSet(file.NewLocationFromCoordinates(file.Coordinates{RealPath: "/usr/local/bin/healthcheck", FileSystemID: "sha256:bbbb"}))
		},
		"metadata": func(p *pkg.Package) {
			p.Metadata = pkg.GolangBinMetadata{GoCompiledVersion: "go1.25.0", Architecture: "amd64"}
		},
		"symbols": func(p *pkg.Package) {
			m := p.Metadata.(pkg.GolangBinMetadata)
			m.Symbols = map[string][]string{"x": {"F"}}
			p.Metadata = m
		},
		"annotations": func(p *pkg.Package) { p.Annotations = map[string][]string{"k": {"v"}} },
	}
	for what, change := range changes {
		p := samplePackage()
		change(&p)
		if k(p) == base {
			t.Errorf("%s changed, same key", what)
		}
	}
}

// countingMatcher finds one vulnerability in every package, counting the
// calls; it panics for a package named "panic" the first time.
type countingMatcher struct {
	calls    atomic.Int32
	panicked atomic.Bool
	started  chan struct{}
	release  chan struct{}
}

func (m *countingMatcher) PackageTypes() []syftPkg.Type { return []syftPkg.Type{syftPkg.GoModulePkg} }

func (m *countingMatcher) Type() match.MatcherType { return match.GoModuleMatcher }

func (m *countingMatcher) Match(_ vulnerability.Provider, p pkg.Package) ([]match.Match, []match.IgnoreFilter, error) {
	m.calls.Add(1)
	if m.started != nil {
		m.started <- struct{}{}
		<-m.release
	}
	if p.Name == "panic" && m.panicked.CompareAndSwap(false, true) {
		panic("matcher failed")
	}
	v := vulnerability.Vulnerability{Reference: vulnerability.Reference{ID: "GO-1"}, Fix: vulnerability.Fix{Versions: []string{"1"}}}
	return []match.Match{{Vulnerability: v, Package: p, Details: match.Details{{Type: match.ExactDirectMatch}}}},
		[]match.IgnoreFilter{match.IgnoreRelatedPackage{VulnerabilityID: "GO-1", RelatedPackageID: p.ID}},
		errors.New("partial")
}

func TestMatchCache(t *testing.T) {
	c := newMatchCache()
	inner := &countingMatcher{}
	m := cachedMatcher{inner: inner, cache: c}

	first := samplePackage()
	ms, ig, err := m.Match(nil, first)
	if len(ms) != 1 || len(ig) != 1 || err == nil {
		t.Fatalf("first match: %v %v %v", ms, ig, err)
	}
	// the same package of another image, with its own relations
	second := samplePackage()
	owner := &pkg.Package{Name: "owner"}
	second.RelatedPackages = map[artifact.RelationshipType][]*pkg.Package{artifact.OwnershipByFileOverlapRelationship: {owner}}
	ms2, ig2, err2 := m.Match(nil, second)
	if n := inner.calls.Load(); n != 1 {
		t.Errorf("matcher called %d times for one package, want 1", n)
	}
	if len(ms2) != 1 || ms2[0].Package.RelatedPackages[artifact.OwnershipByFileOverlapRelationship][0] != owner {
		t.Errorf("cached match is not about the asking image's package: %+v", ms2)
	}
	if len(ig2) != 1 || err2 == nil || err2.Error() != err.Error() {
		t.Errorf("cached ignorers %v, error %v; want the first answer's", ig2, err2)
	}
	// one scan changing its matches changes no other's
	ms2[0].Details = append(ms2[0].Details, match.Detail{Type: match.CPEMatch})
	ms2[0].Vulnerability.Fix.Versions[0] = "changed"
	ms3, _, _ := m.Match(nil, samplePackage())
	if len(ms3[0].Details) != 1 || ms3[0].Vulnerability.Fix.Versions[0] != "1" {
		t.Errorf("a caller's change reached the cache: %+v", ms3[0])
	}

	other := samplePackage()
	other.Version = "v0.44.0"
	if _, _, _ = m.Match(nil, other); inner.calls.Load() != 2 {
		t.Errorf("another version was answered from the cache")
	}

	// a panicking matcher leaves nothing behind: the next caller matches
	p := samplePackage()
	p.Name = "panic"
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the matcher's panic was swallowed")
			}
		}()
		_, _, _ = m.Match(nil, p)
	}()
	if ms, _, _ := m.Match(nil, p); len(ms) != 1 {
		t.Errorf("after a panic, got %v; want the matcher's answer", ms)
	}
}

// TestMatchCacheConcurrent asks for one package from many goroutines while
// the first is still matching: the matcher runs once, everyone gets its
// answer.
func TestMatchCacheConcurrent(t *testing.T) {
	inner := &countingMatcher{started: make(chan struct{}), release: make(chan struct{})}
	m := cachedMatcher{inner: inner, cache: newMatchCache()}
	var wg sync.WaitGroup
	got := make([]int, 8)
	wg.Go(func() {
		ms, _, _ := m.Match(nil, samplePackage())
		got[0] = len(ms)
	})
	<-inner.started
	for i := 1; i < len(got); i++ {
		wg.Go(func() {
			ms, _, _ := m.Match(nil, samplePackage())
			got[i] = len(ms)
		})
	}
	close(inner.release)
	wg.Wait()
	if n := inner.calls.Load(); n != 1 {
		t.Errorf("matcher called %d times, want 1", n)
	}
	for i, n := range got {
		if n != 1 {
			t.Errorf("caller %d got %d matches, want 1", i, n)
		}
	}
}

// countingProvider answers metadata lookups, failing for "GO-bad", and
// counts them; it does nothing else.
type countingProvider struct {
	vulnerability.Provider
	calls atomic.Int32
}

func (p *countingProvider) VulnerabilityMetadata(ref vulnerability.Reference) (*vulnerability.Metadata, error) {
	p.calls.Add(1)
	if ref.ID == "GO-bad" {
		return nil, errors.New("no such record")
	}
	return &vulnerability.Metadata{ID: ref.ID, Namespace: ref.Namespace, Severity: "High"}, nil
}

func TestMetadataCache(t *testing.T) {
	inner := &countingProvider{}
	c := newMetadataCache(inner)
	ref := vulnerability.Reference{ID: "GO-1", Namespace: "github:language:go"}
	for range 3 {
		md, err := c.VulnerabilityMetadata(ref)
		if err != nil || md == nil || md.ID != "GO-1" || md.Severity != "High" {
			t.Fatalf("metadata = %+v, %v", md, err)
		}
	}
	if n := inner.calls.Load(); n != 1 {
		t.Errorf("database asked %d times for one record, want 1", n)
	}
	// the same ID in another namespace is another record
	if md, _ := c.VulnerabilityMetadata(vulnerability.Reference{ID: "GO-1", Namespace: "nvd:cpe"}); md.Namespace != "nvd:cpe" {
		t.Errorf("another namespace's record answered with %+v", md)
	}
	bad := vulnerability.Reference{ID: "GO-bad"}
	for range 2 {
		if _, err := c.VulnerabilityMetadata(bad); err == nil {
			t.Error("a failed lookup succeeded from the cache")
		}
	}
	if n := inner.calls.Load(); n != 4 {
		t.Errorf("database asked %d times, want 4 (failures are asked again)", n)
	}
}
