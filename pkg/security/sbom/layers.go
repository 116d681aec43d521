package sbom

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"sync"

	"github.com/anchore/stereoscope/pkg/file"
	"github.com/anchore/stereoscope/pkg/image"
	"github.com/anchore/syft/syft"
	"github.com/anchore/syft/syft/artifact"
	"github.com/anchore/syft/syft/format/syftjson"
	syftsbom "github.com/anchore/syft/syft/sbom"
	"github.com/anchore/syft/syft/source"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/sc-project/sc/pkg/security/cache"
)

// LayerCache keeps what cataloguing a chain of layers found, so that another
// image with the same lower layers is not catalogued again; *cache.Cache is
// one. Entries are keyed by LayerOperation, the chain ID of the layers, a
// hash of the cataloguer selection and the syft version.
type LayerCache interface {
	Get(ctx context.Context, key cache.Key) (payload []byte, ok bool, err error)
	Put(ctx context.Context, key cache.Key, payload []byte) error
}

var _ LayerCache = (*cache.Cache)(nil)

// LayerOperation is the cache operation of the entries WithLayerCache keeps.
const LayerOperation = "sbom-layers"

// recordVersion changes whenever what a record holds, or what it is taken
// to prove, changes.
const recordVersion = 1

// WithLayerCache keeps, in lc, what cataloguing found per chain of layers,
// and composes an image's SBOM from the entry of its lower layers when its
// upper layers cannot change what syft finds there (see the package
// documentation). It applies to the squashed scope without file listings
// (NoFiles); other configurations catalogue the whole image. Cache errors
// are logged and treated as misses. Default: none, every image is
// catalogued whole.
func WithLayerCache(lc LayerCache) Option { return func(c *config) { c.layerCache = lc } }

// LayerReuse says how an image's SBOM was made when a layer cache was
// given.
type LayerReuse struct {
	// Layers is the number of the image's layers, from the bottom, whose
	// cataloguing was taken from the cache; 0 when the image was
	// catalogued.
	Layers int `json:"layers"`
	// Chain is the chain ID of those layers.
	Chain string `json:"chain,omitempty"`
	// Fallback says why the image was catalogued whole although the cache
	// held its lower layers; empty otherwise.
	Fallback string `json:"fallback,omitempty"`
}

// layerRecord is a cache entry: what cataloguing a chain of layers found,
// and what it asked of the files.
type layerRecord struct {
	Version int `json:"version"`
	// SBOM is syft's model, as syft-json.
	SBOM    json.RawMessage `json:"sbom"`
	Queries queries         `json:"queries"`
}

// chainIDs returns the OCI chain ID of each prefix of the image's layers:
// the first layer's diff ID, then sha256 of the chain below, a space and the
// layer's diff ID.
func chainIDs(img *image.Image) []string {
	diffIDs := make([]string, len(img.Layers))
	for i, l := range img.Layers {
		diffIDs[i] = l.Metadata.Digest
	}
	return chainOf(diffIDs)
}

// chainOf returns the chain IDs of layers with these diff IDs, from the
// lowest.
func chainOf(diffIDs []string) []string {
	ids := make([]string, len(diffIDs))
	for i, d := range diffIDs {
		if i == 0 {
			ids[i] = d
			continue
		}
		sum := sha256.Sum256([]byte(ids[i-1] + " " + d))
		ids[i] = "sha256:" + hex.EncodeToString(sum[:])
	}
	return ids
}

// cachedChain is the longest chain of an image's lower layers the layer
// cache holds an entry for: k layers, chain ID chain.
type cachedChain struct {
	k     int
	chain string
	rec   *layerRecord
}

// longestCached returns the longest chain of img's lower layers the layer
// cache holds an entry for, by the image's config alone (no layer is
// fetched), and the chain ID of its bottom layer (empty when the config
// cannot be read: the full read reports that).
func longestCached(ctx context.Context, img v1.Image, c *config) (cachedChain, string, error) {
	cf, err := img.ConfigFile()
	if err != nil || cf == nil || len(cf.RootFS.DiffIDs) == 0 {
		return cachedChain{}, "", nil
	}
	diffIDs := make([]string, len(cf.RootFS.DiffIDs))
	for i, d := range cf.RootFS.DiffIDs {
		diffIDs[i] = d.String()
	}
	chains := chainOf(diffIDs)
	for k := len(chains); k >= 1; k-- {
		key, err := layerKey(chains[k-1], c)
		if err != nil {
			return cachedChain{}, "", err
		}
		if rec, ok := getRecord(ctx, c, key); ok {
			return cachedChain{k: k, chain: chains[k-1], rec: rec}, chains[0], nil
		}
	}
	return cachedChain{}, chains[0], nil
}

// lookupOrLead is longestCached for an image that Generate calls sharing
// bases (Prepare's context) may be cataloguing siblings of right now: when
// the cache holds nothing for it and another call is cataloguing an image
// with the same bottom layer, it waits for that call to end (once: not
// for a second one) and looks again, since that call's entry may cover
// this image's lower layers. A call that finds nothing leads: the caller
// calls release when its entry is written.
func lookupOrLead(ctx context.Context, img v1.Image, c *config, b *bases) (_ cachedChain, release func(), err error) {
	waited := false
	for {
		cached, base, err := longestCached(ctx, img, c)
		if err != nil || cached.rec != nil || b == nil || base == "" || waited {
			return cached, func() {}, err
		}
		release, wait := b.claim(base)
		if release != nil {
			return cached, release, nil
		}
		c.logger.Debug("waiting for the cataloguing of an image with the same bottom layer", "base", base)
		select {
		case <-wait:
			waited = true
		case <-ctx.Done():
			return cachedChain{}, nil, ctx.Err()
		}
	}
}

// bases are the bottom layers being catalogued by the Generate calls that
// share a context from Prepare.
type bases struct {
	mu sync.Mutex
	m  map[string]chan struct{}
}

// claim makes the caller the one cataloguing an image with bottom layer
// base and returns release, to call when its layer cache entry is
// written; or, when another caller holds base, returns a channel closed
// when that one releases it.
func (b *bases) claim(base string) (release func(), wait <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if ch, ok := b.m[base]; ok {
		return nil, ch
	}
	if b.m == nil {
		b.m = map[string]chan struct{}{}
	}
	ch := make(chan struct{})
	b.m[base] = ch
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			delete(b.m, base)
			b.mu.Unlock()
			close(ch)
		})
	}, nil
}

// layerKey is the cache key of chain under c.
func layerKey(chain string, c *config) (cache.Key, error) {
	h, err := cache.HashConfig(struct {
		Version    int      `json:"version"`
		Catalogers []string `json:"catalogers"`
	}{recordVersion, c.catalogers})
	if err != nil {
		return cache.Key{}, err
	}
	return cache.Key{Operation: LayerOperation, Digest: chain, ConfigHash: h, ToolVersion: syftConfig(c).ToolVersion}, nil
}

// layered reports whether c lets an SBOM be composed from layers.
func (c *config) layered() bool {
	return c.layerCache != nil && c.scope == Squashed && c.files == NoFiles
}

// catalogueLayered catalogues simg, read as src, whole and records what it
// found for the whole chain and for the lowest chain below which nothing
// it asked about changes. Composing from an entry is composeUpper's, before
// the image is read whole; fallback is why that did not apply ("" when no
// entry was found).
func catalogueLayered(ctx context.Context, src source.Source, simg *image.Image, c *config, scanner *licenseScanner, fallback string) (*syftsbom.SBOM, LayerReuse, error) {
	chains := chainIDs(simg)
	n := len(chains)
	reuse := LayerReuse{Fallback: fallback}
	// only cataloguing needs the license scanner: a composed SBOM is
	// made without it
	ctx, err := scanner.wait(ctx)
	if err != nil {
		return nil, reuse, err
	}
	rec := newRecorder()
	if c.onCatalogue != nil {
		c.onCatalogue()
	}
	s, err := syft.CreateSBOM(ctx, recordingSource{Source: src, rec: rec}, syftConfig(c))
	if err != nil {
		return nil, reuse, err
	}
	withoutFiles(s)
	q := rec.queries()
	q.Links = linksOn(simg, q.Answers)
	low := n
	for k := n - 1; k >= 1; k-- {
		cs, err := changes(simg, k)
		if err != nil {
			return nil, reuse, err
		}
		if q.affectedBy(cs) != "" {
			break
		}
		low = k
	}
	var doc bytes.Buffer
	if err := syftjson.NewFormatEncoder().Encode(&doc, *s); err != nil {
		c.logger.Warn("encoding a layer cache entry", "error", err)
		return s, reuse, nil
	}
	payload, err := json.Marshal(layerRecord{Version: recordVersion, SBOM: doc.Bytes(), Queries: q})
	if err != nil {
		c.logger.Warn("encoding a layer cache entry", "error", err)
		return s, reuse, nil
	}
	for _, k := range uniq(n, low) {
		key, err := layerKey(chains[k-1], c)
		if err != nil {
			return nil, reuse, err
		}
		if err := c.layerCache.Put(ctx, key, payload); err != nil {
			c.logger.Warn("writing the layer cache", "chain", chains[k-1], "error", err)
		}
	}
	return s, reuse, nil
}

func uniq(a, b int) []int {
	if a == b {
		return []int{a}
	}
	return []int{a, b}
}

// getRecord reads the entry of key; a bad entry is a miss.
func getRecord(ctx context.Context, c *config, key cache.Key) (*layerRecord, bool) {
	data, ok, err := c.layerCache.Get(ctx, key)
	if err != nil {
		c.logger.Warn("reading the layer cache", "chain", key.Digest, "error", err)
		return nil, false
	}
	if !ok {
		return nil, false
	}
	var rec layerRecord
	if err := json.Unmarshal(data, &rec); err != nil || rec.Version != recordVersion || len(rec.SBOM) == 0 {
		c.logger.Warn("ignoring a malformed layer cache entry", "chain", key.Digest, "error", err)
		return nil, false
	}
	return &rec, true
}

// compose returns the recorded SBOM as the SBOM of the image desc
// describes: the packages, their relationships and the distribution are the
// recorded ones, the source is desc, and what the source contained now
// belongs to desc. When desc's lowest hollow layers were read hollow
// (composeUpper), their sizes are the recorded ones.
func (r *layerRecord) compose(desc source.Description, hollow int) (*syftsbom.SBOM, error) {
	s, _, _, err := syftjson.NewFormatDecoder().Decode(bytes.NewReader(r.SBOM))
	if err != nil {
		return nil, fmt.Errorf("decoding a layer cache entry: %w", err)
	}
	if desc, err = withRecordedSizes(desc, s.Source, hollow); err != nil {
		return nil, err
	}
	old := s.Source.ID
	s.Source = desc
	// syft relates the source to what it contains by the source's ID
	swap := func(x artifact.Identifiable) artifact.Identifiable {
		if _, ok := x.(source.Source); ok && string(x.ID()) == old {
			return sourceID(desc.ID)
		}
		return x
	}
	for i := range s.Relationships {
		s.Relationships[i].From = swap(s.Relationships[i].From)
		s.Relationships[i].To = swap(s.Relationships[i].To)
	}
	return s, nil
}

// linksOn returns the paths on the way to the answers reached through a
// link that are links in img's squashed tree: an upper layer writing at or
// below one of them can change where the path leads, even when it writes
// no parent directory entry. A path that cannot be looked up counts as a
// link.
func linksOn(img *image.Image, answers []answer) []string {
	tree := img.SquashedTree()
	seen := map[string]bool{}
	var links []string
	for _, a := range answers {
		if a.Access == a.Real {
			continue
		}
		for _, x := range file.Path(a.Access).AllPaths() {
			p := string(x)
			if p == "/" || seen[p] {
				continue
			}
			seen[p] = true
			link := true
			if ok, res, err := tree.File(x); err == nil && ok && res.Reference != nil {
				if e, err := img.FileCatalog.Get(*res.Reference); err == nil {
					link = e.Metadata.Type == file.TypeSymLink
				}
			} else if err == nil && !ok {
				link = false
			}
			if link {
				links = append(links, p)
			}
		}
	}
	slices.Sort(links)
	return links
}

// sourceID identifies a source by its ID, as syft's own relationships do.
type sourceID string

func (s sourceID) ID() artifact.ID { return artifact.ID(s) }

// changes lists what the layers of img from index k up write and remove.
func changes(img *image.Image, k int) ([]change, error) {
	var cs []change
	for _, l := range img.Layers[k:] {
		if l.Tree == nil {
			return nil, fmt.Errorf("layer %s was not read", l.Metadata.Digest)
		}
		for _, ref := range l.Tree.AllFiles(file.AllTypes()...) {
			p := ref.RealPath
			switch {
			case p.IsDirWhiteout():
				dir, err := p.ParentPath()
				if err != nil {
					return nil, fmt.Errorf("opaque whiteout %s: %w", p, err)
				}
				cs = append(cs, change{Path: path.Clean(string(dir)), Kind: changeRemove})
				continue
			case p.IsWhiteout():
				hidden, err := p.UnWhiteoutPath()
				if err != nil {
					return nil, fmt.Errorf("whiteout %s: %w", p, err)
				}
				cs = append(cs, change{Path: path.Clean(string(hidden)), Kind: changeRemove})
				continue
			}
			c := change{Path: path.Clean(string(p)), Kind: changeLink}
			if e, err := img.FileCatalog.Get(ref); err == nil {
				switch e.Metadata.Type {
				case file.TypeRegular:
					c.Kind, c.MIMEType = changeFile, e.Metadata.MIMEType
				case file.TypeDirectory:
					c.Kind = changeDir
				}
			}
			cs = append(cs, c)
		}
	}
	return cs, nil
}
