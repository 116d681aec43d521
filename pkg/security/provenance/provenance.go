package provenance

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/anchore/packageurl-go"
	"github.com/google/go-containerregistry/pkg/name"
	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	intoto "github.com/in-toto/attestation/go/v1"
	"github.com/sc-project/sc/pkg/security/runenv"
	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

const (
	// PredicateType is the in-toto predicate type of SLSA v1 provenance.
	PredicateType = "https://slsa.dev/provenance/v1"
	// BuildType is sc's build type for container images; the package
	// documentation describes its parameters.
	BuildType = "https://sc.dev/buildtypes/container-image/v1"
)

// DefaultRecordedArgs lists the build arguments recorded in
// externalParameters.buildArgs without being named in Build.RecordedArgs:
// the platform arguments BuildKit defines and SOURCE_DATE_EPOCH, which
// describe the build and never hold secrets.
func DefaultRecordedArgs() []string {
	return append(automaticArgs(), "SOURCE_DATE_EPOCH")
}

// Build describes a finished image build as data: what was built from where,
// by which CI run, and when. The caller fills it from the execution context
// (pkg/security) and its configuration; nothing here is read from the
// environment.
type Build struct {
	// Source is the source repository the image was built from. Its URI is
	// required.
	Source Source
	// CI is the CI run that built the image; zero outside CI.
	CI runenv.CI
	// BuilderID is runDetails.builder.id when set (configuration or
	// --builder-id); otherwise it is derived with BuilderID. A URI.
	BuilderID string
	// Dockerfile is the Dockerfile the image was built from; zero when
	// unknown, and then no base image is recorded.
	Dockerfile Dockerfile
	// BuildArgs are the build arguments the image was built with. All of
	// them are used to expand ARGs in FROM lines; only those named in
	// DefaultRecordedArgs or RecordedArgs are written to the provenance.
	BuildArgs map[string]string
	// RecordedArgs is the allowlist of further build argument names whose
	// values are recorded in externalParameters.buildArgs. Name only
	// arguments that never hold secrets.
	RecordedArgs []string
	// StartedOn and FinishedOn bound the build; zero values are left out.
	StartedOn, FinishedOn time.Time
}

// Source is a source repository at a ref and commit.
type Source struct {
	// URI is the repository as an http(s) URL without credentials
	// (https://github.com/org/repo).
	URI string
	// Ref is the fully qualified git ref built (refs/heads/main); optional.
	Ref string
	// Commit is the full hexadecimal commit id (40 or 64 digits); optional
	// but needed for the commit to be a resolved dependency.
	Commit string
}

// Dockerfile is a Dockerfile's path, as recorded, and its content.
type Dockerfile struct {
	// Path is the Dockerfile's path as the build named it, best relative to
	// the repository root.
	Path string
	// Content is the Dockerfile itself.
	Content []byte
}

// Validate reports, wrapping ErrInvalidBuild, what makes b unusable. It does
// not change b.
func (b Build) Validate() error {
	if err := validateSourceURI(b.Source.URI); err != nil {
		return fmt.Errorf("%w: source repository: %w", ErrInvalidBuild, err)
	}
	if c := b.Source.Commit; c != "" && !isCommit(c) {
		return fmt.Errorf("%w: source commit %q is not a full hexadecimal commit id", ErrInvalidBuild, c)
	}
	if id := b.BuilderID; id != "" {
		if u, err := url.Parse(id); err != nil || u.Scheme == "" || strings.ContainsAny(id, " \t\n") {
			return fmt.Errorf("%w: builder id %q is not a URI", ErrInvalidBuild, id)
		}
	}
	switch {
	case b.Dockerfile.Path == "" && b.Dockerfile.Content != nil:
		return fmt.Errorf("%w: the Dockerfile has no path", ErrInvalidBuild)
	case b.Dockerfile.Path != "" && b.Dockerfile.Content == nil:
		return fmt.Errorf("%w: the Dockerfile %s has no content", ErrInvalidBuild, b.Dockerfile.Path)
	}
	for k := range b.BuildArgs {
		if k == "" || strings.ContainsAny(k, "= \t\n") {
			return fmt.Errorf("%w: build argument name %q", ErrInvalidBuild, k)
		}
	}
	if !b.StartedOn.IsZero() && !b.FinishedOn.IsZero() && b.FinishedOn.Before(b.StartedOn) {
		return fmt.Errorf("%w: the build finished (%s) before it started (%s)", ErrInvalidBuild,
			b.FinishedOn.Format(time.RFC3339), b.StartedOn.Format(time.RFC3339))
	}
	return nil
}

func validateSourceURI(raw string) error {
	if raw == "" {
		return fmt.Errorf("unknown: run in CI or in a git checkout with a remote")
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Errorf("%q is not a URL", raw)
	case u.Scheme != "https" && u.Scheme != "http":
		return fmt.Errorf("%q is not an http(s) URL", raw)
	case u.User != nil:
		// Never write credentials into a signed, public document; the
		// message does not repeat them either.
		return fmt.Errorf("the URL of %s carries credentials", u.Host)
	case u.Host == "" || u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("%q is not a repository URL", raw)
	}
	return nil
}

func isCommit(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// Resolver resolves an image reference to its digest. pkg/security/registry's
// Client is one.
type Resolver interface {
	Resolve(ctx context.Context, ref string) (name.Digest, error)
}

// Generator writes provenance statements.
type Generator struct {
	resolver Resolver
	version  string
	logger   *slog.Logger
	parallel int
}

// Option configures a Generator.
type Option func(*Generator)

// WithVersion sets the sc version recorded in internalParameters.scVersion
// and runDetails.builder.version. Default: "devel".
func WithVersion(v string) Option {
	return func(g *Generator) { g.version = v }
}

// WithLogger sets the logger for debug lines about base images. Default:
// discard.
func WithLogger(l *slog.Logger) Option {
	return func(g *Generator) { g.logger = l }
}

// WithParallelism sets how many base images are resolved at once. Default:
// 4; values below 1 mean 1.
func WithParallelism(n int) Option {
	return func(g *Generator) { g.parallel = max(n, 1) }
}

// NewGenerator returns a Generator that resolves base images with r.
func NewGenerator(r Resolver, opts ...Option) *Generator {
	g := &Generator{resolver: r, version: "devel", parallel: 4}
	for _, o := range opts {
		o(g)
	}
	if g.logger == nil {
		g.logger = slog.New(slog.DiscardHandler)
	}
	return g
}

// Generate returns the provenance statement for the image subject built as b
// describes: the subject is the image's repository and digest, the predicate
// SLSA v1 provenance of BuildType. more are further subjects of the same
// build, after it: for an image index, its platform images, so that the
// statement, attached to each platform image, names the index and all of
// them, as BuildKit's does.
//
// Errors: ErrInvalidBuild (also for a subject named twice), ErrDockerfile
// and ErrNoBuilderID (invalid usage); ErrBaseImage naming the image that
// could not be resolved (in the class of the registry error); cancellation
// of ctx.
func (g *Generator) Generate(ctx context.Context, subject name.Digest, b Build, more ...name.Digest) (*intoto.Statement, error) {
	var subjects []*intoto.ResourceDescriptor
	seen := map[string]bool{}
	for _, d := range append([]name.Digest{subject}, more...) {
		ds, err := digestSet(d.DigestStr())
		if err != nil {
			return nil, fmt.Errorf("%w: subject %s: %w", ErrInvalidBuild, d, err)
		}
		if seen[d.DigestStr()] {
			return nil, fmt.Errorf("%w: subject %s is named twice", ErrInvalidBuild, d)
		}
		seen[d.DigestStr()] = true
		subjects = append(subjects, &intoto.ResourceDescriptor{Name: d.Context().Name(), Digest: ds})
	}
	var err error
	if err := b.Validate(); err != nil {
		return nil, err
	}
	builderID := b.BuilderID
	if builderID == "" {
		if builderID, err = BuilderID(b.CI); err != nil {
			return nil, err
		}
	}
	var bases []BaseImage
	if b.Dockerfile.Path != "" {
		if bases, err = BaseImages(b.Dockerfile.Content, b.BuildArgs); err != nil {
			return nil, fmt.Errorf("%s: %w", b.Dockerfile.Path, err)
		}
	}
	images, err := g.resolveAll(ctx, b.Dockerfile.Path, bases)
	if err != nil {
		return nil, err
	}

	pred, err := g.predicate(b, builderID, images)
	if err != nil {
		return nil, err
	}
	ps, err := toStruct(pred)
	if err != nil {
		return nil, err
	}
	return &intoto.Statement{
		Type:          intoto.StatementTypeUri,
		Subject:       subjects,
		PredicateType: PredicateType,
		Predicate:     ps,
	}, nil
}

// resolvedImage is a base image with its digest.
type resolvedImage struct {
	BaseImage
	digest string // algorithm:hex
}

// resolveAll resolves every base image not pinned by digest, each distinct
// reference once, and returns the images once per reference and platform,
// in the order of their first FROM line.
func (g *Generator) resolveAll(ctx context.Context, path string, bases []BaseImage) ([]resolvedImage, error) {
	type key struct{ ref, platform string }
	seen := map[key]bool{}
	var images []resolvedImage
	var refs []string
	first := map[string]BaseImage{}
	for _, b := range bases {
		k := key{b.Ref, b.Platform}
		if seen[k] {
			continue
		}
		seen[k] = true
		images = append(images, resolvedImage{BaseImage: b})
		if _, pinned := pinnedDigest(b.Ref); !pinned {
			if _, ok := first[b.Ref]; !ok {
				first[b.Ref] = b
				refs = append(refs, b.Ref)
			}
		}
	}

	digests := make([]string, len(refs))
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(g.parallel)
	for i, ref := range refs {
		eg.Go(func() error {
			d, err := g.resolver.Resolve(ectx, ref)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return fmt.Errorf("%w: %s (FROM on line %d of %s): %w", ErrBaseImage, ref, first[ref].Line, path, err)
			}
			digests[i] = d.DigestStr()
			g.logger.Debug("resolved base image", "image", ref, "digest", digests[i])
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	byRef := make(map[string]string, len(refs))
	for i, ref := range refs {
		byRef[ref] = digests[i]
	}
	for i := range images {
		if d, pinned := pinnedDigest(images[i].Ref); pinned {
			images[i].digest = d
		} else {
			images[i].digest = byRef[images[i].Ref]
		}
	}
	return images, nil
}

// pinnedDigest returns the digest a reference names, if it names one.
func pinnedDigest(ref string) (string, bool) {
	_, d, ok := strings.Cut(ref, "@")
	return d, ok
}

// predicate assembles the SLSA predicate.
func (g *Generator) predicate(b Build, builderID string, images []resolvedImage) (*slsa.Provenance, error) {
	commit := strings.ToLower(b.Source.Commit)

	source := map[string]any{"uri": b.Source.URI}
	putIf(source, "ref", b.Source.Ref)
	putIf(source, "commit", commit)
	external := map[string]any{"source": source}
	if p := WorkflowPath(b.CI); p != "" {
		external["workflow"] = map[string]any{"path": p}
	}
	if b.Dockerfile.Path != "" {
		sum := sha256.Sum256(b.Dockerfile.Content)
		external["dockerfile"] = map[string]any{
			"path":   b.Dockerfile.Path,
			"digest": map[string]any{"sha256": hex.EncodeToString(sum[:])},
		}
	}
	if args := recordedArgs(b.BuildArgs, b.RecordedArgs); len(args) > 0 {
		external["buildArgs"] = args
	}
	internal := map[string]any{"scVersion": g.version}
	putIf(internal, "ciProvider", string(b.CI.Provider))

	var deps []*intoto.ResourceDescriptor
	if commit != "" {
		deps = append(deps, &intoto.ResourceDescriptor{
			Uri:    "git+" + b.Source.URI + "@" + commit,
			Digest: map[string]string{string(intoto.AlgorithmGitCommit): commit},
		})
	}
	for _, img := range images {
		rd, err := imageDependency(img)
		if err != nil {
			return nil, err
		}
		deps = append(deps, rd)
	}

	ext, err := structpb.NewStruct(external)
	if err != nil {
		return nil, fmt.Errorf("encoding external parameters: %w", err)
	}
	in, err := structpb.NewStruct(internal)
	if err != nil {
		return nil, fmt.Errorf("encoding internal parameters: %w", err)
	}
	meta := &slsa.BuildMetadata{InvocationId: InvocationID(b.CI)}
	if !b.StartedOn.IsZero() {
		meta.StartedOn = timestamppb.New(b.StartedOn.UTC())
	}
	if !b.FinishedOn.IsZero() {
		meta.FinishedOn = timestamppb.New(b.FinishedOn.UTC())
	}
	if meta.InvocationId == "" && meta.StartedOn == nil && meta.FinishedOn == nil {
		meta = nil
	}
	return &slsa.Provenance{
		BuildDefinition: &slsa.BuildDefinition{
			BuildType:            BuildType,
			ExternalParameters:   ext,
			InternalParameters:   in,
			ResolvedDependencies: deps,
		},
		RunDetails: &slsa.RunDetails{
			Builder: &slsa.Builder{
				Id:      builderID,
				Version: map[string]string{"sc": g.version},
			},
			Metadata: meta,
		},
	}, nil
}

func putIf(m map[string]any, k, v string) {
	if v != "" {
		m[k] = v
	}
}

// recordedArgs returns the build arguments on the allowlist, as a JSON
// object; nil when none.
func recordedArgs(args map[string]string, allow []string) map[string]any {
	allowed := append(DefaultRecordedArgs(), allow...)
	out := map[string]any{}
	for _, k := range slices.Sorted(maps.Keys(args)) {
		if slices.Contains(allowed, k) {
			out[k] = args[k]
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// imageDependency describes a base image as BuildKit's provenance does: a
// docker package URL and the image digest.
func imageDependency(img resolvedImage) (*intoto.ResourceDescriptor, error) {
	ds, err := digestSet(img.digest)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBaseImage, img.Ref, err)
	}
	base, pinned, hasDigest := strings.Cut(img.Ref, "@")
	tag := ""
	if i := strings.LastIndex(base, ":"); i > strings.LastIndex(base, "/") {
		base, tag = base[:i], base[i+1:]
	}
	repo, err := name.NewRepository(base)
	if err != nil {
		return nil, fmt.Errorf("%w: %q is not an image reference: %w", ErrDockerfile, img.Ref, err)
	}
	familiar := repo.RepositoryStr()
	if repo.RegistryStr() == name.DefaultRegistry {
		familiar = strings.TrimPrefix(familiar, "library/")
	} else {
		familiar = repo.RegistryStr() + "/" + familiar
	}
	ns, nm := "", familiar
	if i := strings.LastIndex(familiar, "/"); i >= 0 {
		ns, nm = familiar[:i], familiar[i+1:]
	}
	if tag == "" && !hasDigest {
		tag = name.DefaultTag
	}
	var q packageurl.Qualifiers
	if hasDigest {
		q = append(q, packageurl.Qualifier{Key: "digest", Value: pinned})
	}
	if img.Platform != "" {
		q = append(q, packageurl.Qualifier{Key: "platform", Value: img.Platform})
	}
	return &intoto.ResourceDescriptor{
		Uri:    packageurl.NewPackageURL(packageurl.TypeDocker, ns, nm, tag, q, "").ToString(),
		Digest: ds,
	}, nil
}

// digestSet turns "algorithm:hex" into an in-toto digest set.
func digestSet(d string) (map[string]string, error) {
	alg, h, ok := strings.Cut(d, ":")
	if !ok || alg == "" || h == "" {
		return nil, fmt.Errorf("%q is not a digest", d)
	}
	if _, err := hex.DecodeString(h); err != nil {
		return nil, fmt.Errorf("%q is not a digest", d)
	}
	return map[string]string{alg: h}, nil
}

// toStruct converts a predicate into the Struct a Statement carries.
func toStruct(p *slsa.Provenance) (*structpb.Struct, error) {
	raw, err := protojson.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encoding the predicate: %w", err)
	}
	s := &structpb.Struct{}
	if err := protojson.Unmarshal(raw, s); err != nil {
		return nil, fmt.Errorf("encoding the predicate: %w", err)
	}
	return s, nil
}
