package pipeline

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	govex "github.com/openvex/go-vex/pkg/vex"

	"github.com/sc-project/sc/pkg/security/attest"
	"github.com/sc-project/sc/pkg/security/scan"
)

// VEXPredicateType is the predicate type of an OpenVEX document attested
// about an image: what `cosign attest --type openvex` writes and `cosign
// verify-attestation --type openvex` reads.
const VEXPredicateType = attest.PredicateOpenVEX

// VEXPredicate is the OpenVEX document (go-vex's vex.VEX) of the VEX
// statements that suppressed findings of the scan result r, or nil when
// none did (no VEX document applied, or none set a finding aside): what
// the vex-attach step attests, so that a deploy-time check sees which
// findings were accepted, on whose word.
//
// Each statement that set findings aside is one statement of the
// document, as its source said it (vulnerability, status, justification,
// impact statement, notes, and its time: the statement's, else its
// document's), about one product: the image, by its reference
// (registry/repo@sha256:…), its package URL (scan.ImagePURL) and its
// SHA-256, with the packages whose findings it suppressed as
// subcomponents (their package URLs). The document's author is the source
// documents' (", "-separated when they differ; go-vex's "Unknown Author"
// when none says), its time the latest statement's (else when the
// findings were matched), its tooling sc at version, and its @id go-vex's
// canonical one (vex.GenerateCanonicalID), a hash of the statements.
//
// Like VulnPredicate, it depends only on r and version: a warm run that
// replays the same findings under the same VEX documents makes the same
// predicate, and the attestation already there is reused.
func VEXPredicate(r *scan.Result, version string) ([]byte, error) {
	if r == nil {
		return nil, errors.New("no scan result to attest")
	}
	type key struct {
		vuln, status, justification, impact, notes, author string
		when                                               time.Time
	}
	var keys []key
	packages := map[key][]string{}
	for _, m := range r.Ignored {
		s := m.SuppressedBy.VEX
		if m.SuppressedBy.Kind != scan.SuppressedByVEX || s == nil {
			continue
		}
		k := key{vuln: s.Vulnerability, status: s.Status, justification: s.Justification, impact: s.ImpactStatement, notes: s.StatusNotes, author: s.Author}
		if s.Timestamp != nil {
			k.when = s.Timestamp.UTC()
		}
		if _, seen := packages[k]; !seen {
			keys = append(keys, k)
			packages[k] = []string{}
		}
		if p := m.Package.PURL; p != "" && !slices.Contains(packages[k], p) {
			packages[k] = append(packages[k], p)
		}
	}
	if len(keys) == 0 {
		return nil, nil
	}
	repo, digest, ok := strings.Cut(r.Image, "@")
	if !ok || !strings.HasPrefix(digest, "sha256:") {
		return nil, fmt.Errorf("the scanned image %q is not named by digest: no product to make VEX statements about", r.Image)
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(strings.Compare(a.vuln, b.vuln), a.when.Compare(b.when), strings.Compare(a.status, b.status),
			strings.Compare(a.justification, b.justification), strings.Compare(a.impact, b.impact),
			strings.Compare(a.notes, b.notes), strings.Compare(a.author, b.author))
	})
	image := govex.Component{
		ID:          r.Image,
		Identifiers: map[govex.IdentifierType]string{govex.PURL: scan.ImagePURL(repo, digest)},
		Hashes:      map[govex.Algorithm]govex.Hash{govex.SHA256: govex.Hash(strings.TrimPrefix(digest, "sha256:"))},
	}
	var authors []string
	latest := time.Time{}
	stmts := make([]govex.Statement, 0, len(keys))
	for _, k := range keys {
		p := govex.Product{Component: image}
		purls := packages[k]
		slices.Sort(purls)
		for _, purl := range purls {
			p.Subcomponents = append(p.Subcomponents, govex.Subcomponent{Component: govex.Component{ID: purl}})
		}
		st := govex.Statement{
			Vulnerability:   govex.Vulnerability{Name: govex.VulnerabilityID(k.vuln)},
			Products:        []govex.Product{p},
			Status:          govex.Status(k.status),
			StatusNotes:     k.notes,
			Justification:   govex.Justification(k.justification),
			ImpactStatement: k.impact,
		}
		if !k.when.IsZero() {
			st.Timestamp = &k.when
			if k.when.After(latest) {
				latest = k.when
			}
		}
		stmts = append(stmts, st)
		if k.author != "" && !slices.Contains(authors, k.author) {
			authors = append(authors, k.author)
		}
	}
	slices.Sort(authors)
	author := strings.Join(authors, ", ")
	if author == "" {
		author = govex.DefaultAuthor
	}
	if latest.IsZero() {
		latest = r.ScannedAt.UTC()
	}
	if version == "" {
		version = "devel"
	}
	doc := govex.VEX{
		Metadata: govex.Metadata{
			Context:   govex.ContextLocator(),
			Author:    author,
			Timestamp: &latest,
			Version:   1,
			Tooling:   "pkg:golang/github.com/sc-project/sc@" + version,
		},
		Statements: stmts,
	}
	if _, err := doc.GenerateCanonicalID(); err != nil {
		return nil, fmt.Errorf("naming the VEX document of %s: %w", r.Image, err)
	}
	b, err := json.Marshal(&doc)
	if err != nil {
		return nil, fmt.Errorf("writing the VEX document of %s: %w", r.Image, err)
	}
	return b, nil
}

// attachVEX attaches, to each platform image whose scan set findings aside
// by VEX statements, those statements as a signed OpenVEX attestation
// (VEXPredicate), unless the same statement by the same signer already
// verifies. A platform image whose findings no VEX statement suppressed
// gets none; when no platform image's did, the step is skipped with the
// reason.
func (r *imageRun) attachVEX(ctx context.Context, sr *StepResult) error {
	e := r.rl.e
	errs := r.perPlatform(ctx, sr, func(ctx context.Context, pr *platformRun, sr *StepResult) error {
		data, err := VEXPredicate(pr.scan, e.version)
		if err != nil || data == nil {
			if err == nil {
				sr.Detail = noVEXSuppressed
			}
			return err
		}
		a, err := r.attach(ctx, sr, pr.image.Digest, attest.Predicate{Type: VEXPredicateType, Data: data}, true)
		pr.vexAttested = a
		return err
	})
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if !r.anyVEXAttested() {
		return nothingToDo(noVEXSuppressed)
	}
	return nil
}

// verifyVEX checks that each OpenVEX attestation vex-attach wrote (or
// found) verifies; skipped when it attested nothing.
func (r *imageRun) verifyVEX(ctx context.Context, sr *StepResult) error {
	if !r.anyVEXAttested() {
		return nothingToDo(noVEXSuppressed)
	}
	return errors.Join(r.perPlatform(ctx, sr, func(ctx context.Context, pr *platformRun, sr *StepResult) error {
		if pr.vexAttested == "" {
			sr.Detail = noVEXSuppressed
			return nil
		}
		return r.verifyAttestation(ctx, sr, pr.image.Digest, VEXPredicateType, pr.vexAttested)
	})...)
}

// noVEXSuppressed is why there is no OpenVEX attestation to attach or
// verify.
const noVEXSuppressed = "no VEX statement suppressed a finding: nothing to attest"

// anyVEXAttested reports whether vex-attach attested any platform image.
func (r *imageRun) anyVEXAttested() bool {
	for _, p := range r.platforms {
		if p.vexAttested != "" {
			return true
		}
	}
	return false
}
