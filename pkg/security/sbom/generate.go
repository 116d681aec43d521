package sbom

import (
	"context"
	"crypto"
	_ "crypto/sha1" // crypto.SHA1, a file digest syft computes for --files
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anchore/stereoscope/pkg/file"
	"github.com/anchore/stereoscope/pkg/image"
	"github.com/anchore/syft/syft"
	"github.com/anchore/syft/syft/artifact"
	"github.com/anchore/syft/syft/cataloging"
	"github.com/anchore/syft/syft/cataloging/filecataloging"
	syftfile "github.com/anchore/syft/syft/file"
	syftsbom "github.com/anchore/syft/syft/sbom"
	"github.com/anchore/syft/syft/source"
	"github.com/anchore/syft/syft/source/stereoscopesource"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Result is a generated SBOM: the encoded document, what identifies it, and
// syft's in-memory model of it, which a vulnerability matcher can use as it
// is instead of cataloguing the image again. It marshals to JSON without the
// document and the model.
type Result struct {
	// Format is the document's format.
	Format Format `json:"format"`
	// SpecVersion is the version of the format's specification the document
	// follows (CycloneDX 1.6, SPDX 2.3) or, for syft-json, the version of
	// syft's JSON schema.
	SpecVersion string `json:"specVersion"`
	// MediaType is the document's media type.
	MediaType string `json:"mediaType"`
	// PredicateType is the in-toto predicate type to attach the document
	// with; see Format.PredicateType.
	PredicateType string `json:"predicateType"`
	// Digest is the SHA-256 digest of Document, "sha256:<hex>".
	Digest string `json:"digest"`
	// Image is the image the SBOM describes, by digest.
	Image name.Digest `json:"image"`
	// Scope is the part of the image that was catalogued.
	Scope Scope `json:"scope"`
	// Tool names the cataloguer: syft and its module version.
	Tool Tool `json:"tool"`
	// Packages is the number of packages found.
	Packages int `json:"packages"`
	// Document is the encoded SBOM.
	Document []byte `json:"-"`
	// Layers says whether the SBOM was composed from a layer cache entry
	// (WithLayerCache); nil without a layer cache.
	Layers *LayerReuse `json:"layers,omitempty"`
	// SBOM is syft's model of the SBOM. It holds no open files: it stays
	// usable after Generate returned and the image's layers were removed.
	SBOM *syftsbom.SBOM `json:"-"`
}

// Tool names the program that catalogued the image.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// config is what the options set.
type config struct {
	format      Format
	specVersion string
	scope       Scope
	files       Files
	parallelism int
	catalogers  []string
	// ownCatalogers: the caller chose the catalogers
	ownCatalogers bool
	tempDir       string
	logger        *slog.Logger
	layerCache    LayerCache
	// onCatalogue, when set, is called before every syft run over an
	// image (tests count them)
	onCatalogue func()
}

// Option configures Generate.
type Option func(*config)

// WithFormat sets the document format. Default: DefaultFormat
// (cyclonedx-json).
func WithFormat(f Format) Option { return func(c *config) { c.format = f } }

// WithSpecVersion sets the version of the format's specification to write:
// "1.5", "1.6" or "1.7" for CycloneDX, "2.3" for SPDX. Default: ""
// for the format's DefaultSpecVersion (CycloneDX 1.6, SPDX 2.3). syft-json
// takes no version.
func WithSpecVersion(v string) Option { return func(c *config) { c.specVersion = v } }

// WithScope sets which part of the image is catalogued. Default:
// DefaultScope (squashed).
func WithScope(s Scope) Option { return func(c *config) { c.scope = s } }

// WithFiles sets which files get their own entry with SHA-1 and SHA-256
// digests and metadata. Default: NoFiles, under which no document lists a
// file.
func WithFiles(f Files) Option { return func(c *config) { c.files = f } }

// WithParallelism bounds how many cataloguers run at once. Default: 0, one
// per CPU (syft's default).
func WithParallelism(n int) Option { return func(c *config) { c.parallelism = n } }

// DefaultCatalogers is what sc adds to syft's cataloguer selection for
// images, as syft selection expressions separated by commas: the JavaScript lock-file
// cataloguer (package-lock.json, yarn.lock, pnpm-lock.yaml). An application
// bundled by webpack or esbuild ships without node_modules, and its lock
// file is then the only record of the packages inside the bundle; other
// ecosystems keep such a record in what they install (dpkg and rpm
// databases, Go build information, jar manifests, Python dist-info).
const DefaultCatalogers = "+javascript-lock-cataloger"

// WithCatalogers changes which cataloguers run, with syft's selection
// expressions (as `syft scan --select-catalogers` takes them) applied to
// syft's defaults for an image: "+name" adds a cataloguer, "-name-or-tag"
// removes, a bare tag keeps only the cataloguers that have it. The
// expressions replace DefaultCatalogers: WithCatalogers() with none runs
// syft's image defaults alone. A selection that names no cataloguer is an
// ErrInvalidOption, reported before any layer is fetched. Default:
// DefaultCatalogers.
func WithCatalogers(expressions ...string) Option {
	return func(c *config) {
		c.catalogers = slices.Clone(expressions)
		c.ownCatalogers = true
	}
}

// WithTempDir sets the directory under which the image's layers are
// unpacked while they are catalogued; they are removed before Generate
// returns. Default: "", the system's temporary directory.
func WithTempDir(dir string) Option { return func(c *config) { c.tempDir = dir } }

// WithLogger sets the logger for progress, at debug level. Default: a
// logger that discards.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

func newConfig(opts []Option) config {
	c := config{format: DefaultFormat, scope: DefaultScope, files: NoFiles, catalogers: []string{DefaultCatalogers}}
	for _, o := range opts {
		o(&c)
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// validate reports whether the options are usable, and fills in the spec
// version.
func (c *config) validate() error {
	if err := c.format.Validate(); err != nil {
		return err
	}
	v, err := c.format.checkSpecVersion(c.specVersion)
	if err != nil {
		return err
	}
	c.specVersion = v
	if err := c.scope.Validate(); err != nil {
		return err
	}
	if err := c.files.Validate(); err != nil {
		return err
	}
	if c.parallelism < 0 {
		return fmt.Errorf("%w: parallelism %d is negative", ErrInvalidOption, c.parallelism)
	}
	return nil
}

// CheckOptions reports whether opts are usable by Generate, without doing
// any work: a command calls it before it resolves the image, so that a bad
// flag is reported as a usage error before any network access.
func CheckOptions(opts ...Option) error {
	c := newConfig(opts)
	return c.validate()
}

// Prepare returns ctx carrying what Generate calls can share instead of
// each building it: syft's license scanner (see the package
// documentation), and, with WithLayerCache, the cataloguing of a base
// layer: a call about to catalogue an image whose bottom layer another
// call is cataloguing waits for that one and composes from its entry
// when it can. It builds nothing
// itself: the first Generate call given the returned context starts
// building the scanner while it reads its image, and every other call
// waits for that one. A caller that generates the SBOMs of many images (a
// release) calls it once and hands the returned context to every Generate
// call; the scanner is safe for concurrent use. The error is always nil;
// it is kept for callers written against earlier versions.
func Prepare(ctx context.Context) (context.Context, error) {
	ctx = context.WithValue(ctx, basesKey{}, &bases{})
	return context.WithValue(ctx, scannerKey{}, newLicenseScanner()), nil
}

// scannerKey is the context key of the *licenseScanner Prepare makes.
type scannerKey struct{}

// basesKey is the context key of the *bases Prepare makes.
type basesKey struct{}

// licenseScanner is syft's license scanner, built once, in the background,
// on first need. syft v1.57 builds one in every syft.CreateSBOM call unless
// the context already carries one, and only syft can make one: there is no
// way to catalogue without it, even when no license text is looked at (the
// package declarations of licenses need none). It is built while the
// image's layers are fetched and unpacked, so that the two overlap.
type licenseScanner struct {
	once    sync.Once
	started atomic.Bool
	done    chan struct{}
	// values is a context carrying the built scanner: only its values are
	// used.
	values context.Context
	err    error
}

func newLicenseScanner() *licenseScanner { return &licenseScanner{done: make(chan struct{})} }

// start starts building the scanner, once. The build takes no context
// (syft's does not) and ends on its own, whatever happens to the caller.
func (l *licenseScanner) start() {
	l.once.Do(func() {
		l.started.Store(true)
		go func() {
			defer close(l.done)
			l.values, l.err = syft.SetContextLicenseScanner(context.Background(), cataloging.DefaultLicenseConfig())
		}()
	})
}

// wait returns ctx carrying the scanner, once it is built.
func (l *licenseScanner) wait(ctx context.Context) (context.Context, error) {
	l.start()
	select {
	case <-l.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if l.err != nil {
		return nil, fmt.Errorf("preparing the license scanner: %w", l.err)
	}
	return withValues{Context: ctx, values: l.values}, nil
}

// withValues is a context with the values of another one before its own.
type withValues struct {
	context.Context
	values context.Context
}

func (c withValues) Value(key any) any {
	if v := c.values.Value(key); v != nil {
		return v
	}
	return c.Context.Value(key)
}

// Generate catalogues img, the image named by ref, and encodes the SBOM.
//
// img is read once: its layers are fetched from wherever img gets them
// (for an image from registry.Client.Image, the registry, through sc's
// transport), unpacked under a temporary directory and removed before
// Generate returns. img must be the image ref names: a different digest is
// an ErrImageMismatch.
//
// Errors: the sentinels of this package for bad options; whatever img
// returns when its content cannot be fetched (operational); a context error
// when ctx ends first.
func Generate(ctx context.Context, ref name.Digest, img v1.Image, opts ...Option) (*Result, error) {
	c := newConfig(opts)
	if err := c.validate(); err != nil {
		return nil, err
	}
	if img == nil {
		return nil, fmt.Errorf("%w: no image given for %s", ErrInvalidOption, ref)
	}
	got, err := img.Digest()
	if err != nil {
		return nil, fmt.Errorf("reading manifest of %s: %w", ref, err)
	}
	if got.String() != ref.DigestStr() {
		return nil, fmt.Errorf("%w: %s has digest %s", ErrImageMismatch, ref, got)
	}

	if err := checkCatalogers(ctx, &c); err != nil {
		return nil, err
	}
	scanner, _ := ctx.Value(scannerKey{}).(*licenseScanner)
	if scanner == nil {
		scanner = newLicenseScanner()
	}
	// An image whose lower layers the layer cache holds is composed from
	// the entry reading only its upper layers, and needs no scanner;
	// otherwise the scanner is built while the layers are fetched and
	// unpacked.
	var cached cachedChain
	if c.layered() {
		b, _ := ctx.Value(basesKey{}).(*bases)
		var release func()
		if cached, release, err = lookupOrLead(ctx, img, &c, b); err != nil {
			return nil, err
		}
		defer release()
	}
	start := time.Now()
	var s *syftsbom.SBOM
	var reuse *LayerReuse
	var why string
	if cached.rec != nil {
		var ok bool
		if s, ok, why, err = composeUpper(ctx, ref, img, &c, cached.k, cached.rec); err != nil {
			return nil, fmt.Errorf("composing the SBOM of %s: %w", ref, err)
		}
		if ok {
			reuse = &LayerReuse{Layers: cached.k, Chain: cached.chain}
			c.logger.Debug("composed SBOM from the layer cache", "image", ref.String(), "lowerLayers", cached.k, "chain", cached.chain)
		} else {
			c.logger.Debug("cataloguing the whole image", "image", ref.String(), "lowerLayers", cached.k, "chain", cached.chain, "reason", why)
		}
	}
	if reuse == nil {
		scanner.start()
		c.logger.Debug("cataloguing image", "image", ref.String(), "scope", c.scope)
		if s, reuse, err = catalogue(ctx, ref, img, &c, scanner, why); err != nil {
			return nil, fmt.Errorf("cataloguing %s: %w", ref, err)
		}
	}
	doc, err := encode(s, c.format, c.specVersion)
	if err != nil {
		return nil, fmt.Errorf("encoding SBOM of %s as %s: %w", ref, c.format, err)
	}
	sum := sha256.Sum256(doc)
	r := &Result{
		Format:        c.format,
		SpecVersion:   specVersionOf(c.format, c.specVersion),
		MediaType:     c.format.MediaType(),
		PredicateType: c.format.PredicateType(),
		Digest:        "sha256:" + hex.EncodeToString(sum[:]),
		Image:         ref,
		Scope:         c.scope,
		Tool:          toolOf(s),
		Packages:      s.Artifacts.Packages.PackageCount(),
		Document:      doc,
		SBOM:          s,
		Layers:        reuse,
	}
	c.logger.Debug("catalogued image", "image", ref.String(), "packages", r.Packages,
		"format", r.Format, "bytes", len(doc), "duration", time.Since(start).Round(time.Millisecond))
	return r, nil
}

// imageMetadata is what stereoscope is told of the image beyond its
// manifest and config: the digest it is known by.
func imageMetadata(ref name.Digest, img v1.Image) []image.AdditionalMetadata {
	meta := []image.AdditionalMetadata{image.WithRepoDigests(ref.String())}
	if raw, err := img.RawManifest(); err == nil {
		meta = append(meta, image.WithManifest(raw))
	}
	// last: the digest the image is known by, whatever WithManifest hashed
	return append(meta, image.WithManifestDigest(ref.DigestStr()))
}

// readImage reads img, the image named by ref, with stereoscope into a
// temporary directory, and returns it with its syft source; release
// closes the source and removes the directory.
func readImage(ctx context.Context, ref name.Digest, img v1.Image, c *config) (*image.Image, source.Source, func() error, error) {
	dir, err := os.MkdirTemp(c.tempDir, "sc-sbom-")
	if err != nil {
		return nil, nil, nil, fmt.Errorf("creating a directory for the layers: %w", err)
	}
	removeDir := func() error {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("removing the unpacked layers: %w", err)
		}
		return nil
	}
	// The generator is handed over only so that Cleanup removes the layer
	// cache; stereoscope creates nothing with it while reading an image.
	simg := image.New(gunzipImage{img}, file.NewTempDirGenerator("sc-sbom"), dir, imageMetadata(ref, img)...)
	readCtx := ctx
	if c.scope == Squashed {
		// lower layers' squashes are built only if read, and a squashed
		// catalogue never reads them (syft's own choice for this scope)
		readCtx = image.WithLazyLayerSquashes(ctx)
	}
	if err := simg.Read(readCtx); err != nil {
		return nil, nil, nil, errors.Join(fmt.Errorf("reading image: %w", err), simg.Cleanup(), removeDir())
	}
	src := stereoscopesource.New(simg, stereoscopesource.ImageConfig{Reference: ref.String()})
	release := func() error {
		var cerr error
		if err := src.Close(); err != nil {
			cerr = fmt.Errorf("releasing the image: %w", err)
		}
		return errors.Join(cerr, removeDir())
	}
	return simg, src, release, nil
}

// catalogue reads img through stereoscope and runs syft's cataloguers on it.
// Stereoscope's own registry provider is not used: it would fetch the image
// a second time, outside sc's transport.
func catalogue(ctx context.Context, ref name.Digest, img v1.Image, c *config, scanner *licenseScanner, fallback string) (s *syftsbom.SBOM, reuse *LayerReuse, err error) {
	simg, src, release, err := readImage(ctx, ref, img, c)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if rerr := release(); rerr != nil && err == nil {
			err = rerr
		}
	}()

	if c.layered() {
		s, r, err := catalogueLayered(ctx, src, simg, c, scanner, fallback)
		if err != nil {
			return nil, nil, err
		}
		return s, &r, nil
	}
	sctx, err := scanner.wait(ctx)
	if err != nil {
		return nil, nil, err
	}
	if c.onCatalogue != nil {
		c.onCatalogue()
	}
	s, err = syft.CreateSBOM(sctx, src, syftConfig(c))
	if err != nil {
		return nil, nil, err
	}
	if c.files == NoFiles {
		withoutFiles(s)
	}
	return s, nil, nil
}

// fileDigests are the digests of each listed file: SHA-1, which SPDX 2.3
// requires of every file, and SHA-256; the syft CLI's defaults.
var fileDigests = []crypto.Hash{crypto.SHA1, crypto.SHA256}

// withoutFiles removes from s what would make a document list files when
// none were asked for. syft catalogues no file with WithoutFiles, but still
// relates packages to the files that own or evidence them, and records
// unknowns (an executable without a package) against files: each such file
// would be an entry of its own, without digests (syft-json) or with a
// checksum of zeros (SPDX, which requires one). The packages keep their
// locations; the relationships between packages stay.
func withoutFiles(s *syftsbom.SBOM) {
	s.Relationships = slices.DeleteFunc(s.Relationships, func(r artifact.Relationship) bool {
		return isFile(r.From) || isFile(r.To)
	})
	a := &s.Artifacts
	a.FileMetadata, a.FileDigests, a.FileContents, a.FileLicenses, a.Executables, a.Unknowns = nil, nil, nil, nil, nil, nil
}

func isFile(x artifact.Identifiable) bool {
	_, ok := x.(syftfile.Coordinates)
	return ok
}

// syftConfig is syft's configuration for c.
func syftConfig(c *config) *syft.CreateSBOMConfig {
	cfg := syft.DefaultCreateSBOMConfig().
		WithSearchConfig(cataloging.DefaultSearchConfig().WithScope(syftScope(c.scope))).
		WithParallelism(c.parallelism).
		WithCatalogerSelection(cataloging.NewSelectionRequest().
			WithExpression(c.catalogers...))
	if cfg.ToolVersion == "" {
		// syft reads its version from the binary's build information; a
		// binary stripped of it still names a version in the document
		cfg.ToolVersion = "unknown"
	}
	if c.files == NoFiles {
		cfg = cfg.WithoutFiles()
	} else {
		cfg = cfg.WithFilesConfig(filecataloging.DefaultConfig().
			WithSelection(syftFiles(c.files)).
			WithHashers(fileDigests...))
	}
	return cfg
}

// checkCatalogers reports a cataloguer selection that names no cataloguer,
// before any layer is fetched: syft checks a selection only when it runs.
// It is run on a source that describes an image and has no files: syft
// selects the cataloguers for it and stops at asking for its files
// (errSelectionChecked), before it builds its license scanner or runs
// anything. Only a caller's own selection is checked (DefaultCatalogers is
// known to be good).
func checkCatalogers(ctx context.Context, c *config) error {
	if !c.ownCatalogers {
		return nil
	}
	_, err := syft.CreateSBOM(ctx, selectionProbe{}, syftConfig(c))
	switch {
	case errors.Is(err, errSelectionChecked):
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case err == nil:
		// syft went on past the files it was refused: not the syft this
		// was written against, and nothing to say about the selection
		return nil
	}
	return fmt.Errorf("%w: cataloguers %q: %w", ErrInvalidOption, c.catalogers, err)
}

// errSelectionChecked is what selectionProbe answers when syft asks for its
// files, which it does once it has selected the cataloguers.
var errSelectionChecked = errors.New("cataloguer selection checked")

// selectionProbe is a source that describes an image and refuses to give
// its files.
type selectionProbe struct{}

func (selectionProbe) ID() artifact.ID { return "sc-selection-probe" }

func (selectionProbe) FileResolver(source.Scope) (syftfile.Resolver, error) {
	return nil, errSelectionChecked
}

func (selectionProbe) Describe() source.Description {
	return source.Description{ID: "sc-selection-probe", Metadata: source.ImageMetadata{}}
}

func (selectionProbe) Close() error { return nil }

func syftScope(s Scope) source.Scope {
	if s == AllLayers {
		return source.AllLayersScope
	}
	return source.SquashedScope
}

func syftFiles(f Files) syftfile.Selection {
	switch f {
	case PackageFiles:
		return syftfile.FilesOwnedByPackageSelection
	case AllFiles:
		return syftfile.AllFilesSelection
	}
	return syftfile.NoFilesSelection
}

// toolOf names the cataloguer recorded in s.
func toolOf(s *syftsbom.SBOM) Tool {
	return Tool{Name: s.Descriptor.Name, Version: s.Descriptor.Version}
}
