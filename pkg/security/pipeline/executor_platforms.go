package pipeline

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"

	"github.com/sc-project/sc/pkg/security/digest"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/scan"
	"github.com/sc-project/sc/pkg/security/signing"
)

// platformRun is one image whose content the steps of an imageRun work on:
// the image itself, or one selected platform image of an index. Each field
// of its state is written by one step and read only by the steps that wait
// for it, as in imageRun.
type platformRun struct {
	image registry.PlatformImage

	sbom   *SBOM               // sbom-generate
	scan   *scan.Result        // scan
	signed *signing.SignResult // sign: a platform image of an index, with signing.recursive

	sbomAttested       string // sbom-attach: the attestation's artifact digest
	provenanceAttested string // provenance-attach: the same
	vulnAttested       string // vuln-attach: the same
	vexAttested        string // vex-attach: the same; "" when no VEX statement suppressed a finding
}

// name is the platform, os/arch[/variant]; "" for an image that is not an
// index.
func (p *platformRun) name() string { return p.image.Name() }

// subjects are the digest and those of the platform images: what the
// provenance of an index is about.
func (r *imageRun) subjects() []name.Digest {
	out := []name.Digest{r.digest}
	for _, p := range r.platforms {
		if p.image.Digest.DigestStr() != r.digest.DigestStr() {
			out = append(out, p.image.Digest)
		}
	}
	return out
}

// parsePlatforms reads the platforms selection of the configuration.
func parsePlatforms(list []string) ([]v1.Platform, error) {
	sel, err := registry.ParsePlatforms(list)
	if err != nil {
		return nil, fmt.Errorf("platforms: %w", err)
	}
	return sel, nil
}

// describePlatforms is the resolve step's detail for an index: its digest,
// the platform images worked on, and how many manifests were left out.
func describePlatforms(ps *registry.Platforms) string {
	names := make([]string, len(ps.Images))
	for i, img := range ps.Images {
		names[i] = img.Name()
	}
	s := fmt.Sprintf("index %s → %s", digest.Short(ps.Digest.DigestStr()), strings.Join(names, ", "))
	attestations, unselected, other := 0, 0, 0
	for _, m := range ps.Skipped {
		switch {
		case strings.Contains(m.Reason, "attestation"):
			attestations++
		case strings.Contains(m.Reason, "selected"):
			unselected++
		default:
			other++
		}
	}
	var skipped []string
	for _, c := range []struct {
		n         int
		one, many string
	}{
		{attestations, "attestation manifest", "attestation manifests"},
		{unselected, "platform not selected", "platforms not selected"},
		{other, "other manifest", "other manifests"},
	} {
		switch {
		case c.n == 1:
			skipped = append(skipped, "1 "+c.one)
		case c.n > 1:
			skipped = append(skipped, fmt.Sprintf("%d %s", c.n, c.many))
		}
	}
	if len(skipped) > 0 {
		s += " (skipped: " + strings.Join(skipped, ", ") + ")"
	}
	return s
}

// perPlatform runs fn for every platform image of the run, up to the
// executor's jobs at once, and returns each one's error, in index order,
// nil where it succeeded. For an image that is not an index fn reports into
// sr itself, so the step reads as it always has. For an index each platform
// reports into a result of its own, folded into sr in index order: details
// and warnings prefixed with the platform (a warning every platform has
// once, as "all platforms: …"), artifacts naming the platform and the
// digest they are about, cached only when every platform was, and errors
// naming the platform.
func (r *imageRun) perPlatform(ctx context.Context, sr *StepResult, fn func(context.Context, *platformRun, *StepResult) error) []error {
	if !r.isIndex {
		return []error{fn(ctx, r.platforms[0], sr)}
	}
	parts := make([]StepResult, len(r.platforms))
	errs := make([]error, len(r.platforms))
	var g errgroup.Group
	g.SetLimit(r.rl.e.jobs)
	for i, p := range r.platforms {
		g.Go(func() error {
			if err := fn(ctx, p, &parts[i]); err != nil {
				errs[i] = fmt.Errorf("%s: %w", p.name(), err)
			}
			return nil
		})
	}
	_ = g.Wait()
	// a warning every platform has is said once
	everywhere := map[string]bool{}
	if len(parts) > 1 {
		for _, w := range parts[0].Warnings {
			all := true
			for _, part := range parts[1:] {
				all = all && slices.Contains(part.Warnings, w)
			}
			if all && !everywhere[w] {
				everywhere[w] = true
				sr.Warnings = append(sr.Warnings, "all platforms: "+w)
			}
		}
	}
	var details []string
	cached := true
	for i, p := range r.platforms {
		part := &parts[i]
		if part.Detail != "" {
			details = append(details, p.name()+": "+part.Detail)
		}
		for _, w := range part.Warnings {
			if !everywhere[w] {
				sr.Warnings = append(sr.Warnings, p.name()+": "+w)
			}
		}
		for _, a := range part.Artifacts {
			if a.Platform == "" && a.Subject == "" {
				a.Platform, a.Subject = p.name(), p.image.Digest.String()
			}
			sr.Artifacts = append(sr.Artifacts, a)
		}
		cached = cached && part.Cached
	}
	if len(details) > 0 {
		if sr.Detail != "" {
			sr.Detail += "; "
		}
		sr.Detail += strings.Join(details, "; ")
	}
	sr.Cached = cached
	return errs
}
