package vulndb

import (
	"slices"
	"strings"
	"sync"

	"github.com/anchore/grype/grype/distro"
	"github.com/anchore/grype/grype/match"
	"github.com/anchore/grype/grype/pkg"
	"github.com/anchore/grype/grype/vulnerability"
	syftPkg "github.com/anchore/syft/syft/pkg"
	"github.com/gohugoio/hashstructure"
)

// maxCachedPackages bounds the packages whose matches a DB keeps: a
// release of a hundred services on a few bases stays far below it, and a
// process that scans more stops adding (matching goes on, uncached).
const maxCachedPackages = 1 << 16

// matchCache holds what grype's matchers found for each distinct package
// a DB has matched, so that the images of a release, which share base
// layers and so most of their packages, match each package once. A
// matcher's answer depends only on the read-only database and the package
// (grype's matchers are pure functions of the two; what relates a package
// to the rest of its SBOM is applied afterwards, per image, by grype's
// VulnerabilityMatcher): two packages with the same key get the same
// answer. Concurrent scans asking for the same package wait for the first.
type matchCache struct {
	mu      sync.Mutex
	entries map[cacheKey]*cacheEntry
}

func newMatchCache() *matchCache { return &matchCache{entries: map[cacheKey]*cacheEntry{}} }

// cacheKey names a matcher and a package by everything a matcher can
// read of it. The fields that identify it are kept as they are, the rest
// (CPEs, upstreams, locations, licenses, metadata, distribution,
// annotations) hashed: the package's own ID, a hash of its syft package,
// already changes with most of them.
type cacheKey struct {
	matcher             match.MatcherType
	id                  pkg.ID
	name, version, purl string
	typ                 syftPkg.Type
	language            syftPkg.Language
	rest                uint64
}

// keyed is what the hash covers: every field of pkg.Package a matcher may
// read, RelatedPackages aside (a graph of pointers into the rest of the
// SBOM, read by grype's ignore filters after matching, never by a
// matcher).
type keyed struct {
	Licenses    []string
	CPEs        []string
	Upstreams   []pkg.UpstreamPackage
	Locations   []string
	Distro      *distro.Distro
	DistroEnd   string
	Metadata    any
	Annotations map[string][]string
}

// key returns the cache key of p for matcher m, false when p cannot be
// hashed (metadata of a kind hashstructure refuses): such a package is
// matched uncached.
func key(m match.MatcherType, p pkg.Package) (cacheKey, bool) {
	k := keyed{
		Licenses:    p.Licenses,
		Upstreams:   p.Upstreams,
		Distro:      p.Distro,
		Metadata:    p.Metadata,
		Annotations: p.Annotations,
	}
	if p.Distro != nil && p.Distro.SupportEnd != nil {
		// hashstructure sees no exported field in a time.Time
		k.DistroEnd = p.Distro.SupportEnd.UTC().String()
	}
	for _, c := range p.CPEs {
		k.CPEs = append(k.CPEs, c.Attributes.BindToFmtString()+"|"+string(c.Source))
	}
	for _, l := range p.Locations.ToSlice() {
		k.Locations = append(k.Locations, strings.Join([]string{l.RealPath, l.AccessPath, l.FileSystemID}, "\x00"))
	}
	h, err := hashstructure.Hash(k, nil)
	if err != nil {
		return cacheKey{}, false
	}
	return cacheKey{
		matcher: m, id: p.ID, name: p.Name, version: p.Version, purl: p.PURL,
		typ: p.Type, language: p.Language, rest: h,
	}, true
}

// cacheEntry is one matcher's answer for one package; done is closed once
// it is there.
type cacheEntry struct {
	done     chan struct{}
	failed   bool // the matcher panicked: no answer
	matches  []match.Match
	ignorers []match.IgnoreFilter
	err      error
}

// match returns what inner finds for p, computing it once per key. A
// matcher that panics leaves no entry behind (the next caller tries
// again) and the panic goes on to grype, which turns it into a fatal
// error.
func (c *matchCache) match(inner match.Matcher, vp vulnerability.Provider, p pkg.Package) ([]match.Match, []match.IgnoreFilter, error) {
	k, ok := key(inner.Type(), p)
	if !ok {
		return inner.Match(vp, p)
	}
	c.mu.Lock()
	e, found := c.entries[k]
	if !found {
		if len(c.entries) >= maxCachedPackages {
			c.mu.Unlock()
			return inner.Match(vp, p)
		}
		e = &cacheEntry{done: make(chan struct{})}
		c.entries[k] = e
	}
	c.mu.Unlock()
	if found {
		<-e.done
		if e.failed {
			// the first caller panicked: match here
			return inner.Match(vp, p)
		}
		return rebind(e.matches, p), slices.Clone(e.ignorers), e.err
	}

	completed := false
	defer func() {
		if !completed {
			c.mu.Lock()
			delete(c.entries, k)
			c.mu.Unlock()
			e.failed = true
			close(e.done)
		}
	}()
	e.matches, e.ignorers, e.err = inner.Match(vp, p)
	completed = true
	close(e.done)
	return rebind(e.matches, p), slices.Clone(e.ignorers), e.err
}

// rebind returns copies of ms about p: a package equal to the one they
// were found for in everything a matcher reads, but p itself, with its own
// relations to the rest of its SBOM. The slices a caller may append to are
// copied, so that no scan changes another's matches.
func rebind(ms []match.Match, p pkg.Package) []match.Match {
	if ms == nil {
		return nil
	}
	out := make([]match.Match, len(ms))
	for i, m := range ms {
		m.Package = p
		m.Details = slices.Clone(m.Details)
		v := m.Vulnerability
		v.RelatedVulnerabilities = slices.Clone(v.RelatedVulnerabilities)
		v.Advisories = slices.Clone(v.Advisories)
		v.Fix.Versions = slices.Clone(v.Fix.Versions)
		v.CPEs = slices.Clone(v.CPEs)
		v.PackageQualifiers = slices.Clone(v.PackageQualifiers)
		if v.Metadata != nil {
			md := *v.Metadata
			v.Metadata = &md
		}
		m.Vulnerability = v
		out[i] = m
	}
	return out
}

// cachedMatcher is a grype matcher whose answers come from a matchCache.
type cachedMatcher struct {
	inner match.Matcher
	cache *matchCache
}

var _ match.Matcher = cachedMatcher{}

func (m cachedMatcher) PackageTypes() []syftPkg.Type { return m.inner.PackageTypes() }

func (m cachedMatcher) Type() match.MatcherType { return m.inner.Type() }

func (m cachedMatcher) Match(vp vulnerability.Provider, p pkg.Package) ([]match.Match, []match.IgnoreFilter, error) {
	return m.cache.match(m.inner, vp, p)
}

// maxCachedRecords bounds the records whose metadata a DB keeps.
const maxCachedRecords = 1 << 18

// metadataCache is a vulnerability provider that remembers each record's
// metadata (severity, CVSS, description) once read: grype reads it for
// every match of every image (its progress counts by severity), and sc
// again for the match and its related records, and the images of a
// release share most of their matches. Metadata of a read-only database
// does not change; it is read, never written, by grype and by sc. Lookups
// that fail are not kept.
type metadataCache struct {
	vulnerability.Provider
	mu      sync.RWMutex
	entries map[vulnerability.Reference]*vulnerability.Metadata
}

func newMetadataCache(p vulnerability.Provider) *metadataCache {
	return &metadataCache{Provider: p, entries: map[vulnerability.Reference]*vulnerability.Metadata{}}
}

var _ vulnerability.Provider = (*metadataCache)(nil)

// VulnerabilityMetadata returns the metadata of ref, from the database the
// first time.
func (c *metadataCache) VulnerabilityMetadata(ref vulnerability.Reference) (*vulnerability.Metadata, error) {
	c.mu.RLock()
	md, ok := c.entries[ref]
	c.mu.RUnlock()
	if ok {
		return md, nil
	}
	md, err := c.Provider.VulnerabilityMetadata(ref) //nolint:staticcheck // what grype and convert call
	if err != nil {
		return md, err
	}
	c.mu.Lock()
	if len(c.entries) < maxCachedRecords {
		c.entries[ref] = md
	}
	c.mu.Unlock()
	return md, nil
}
