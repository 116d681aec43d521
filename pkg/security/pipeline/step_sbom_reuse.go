package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/attest"
	"github.com/sc-project/sc/pkg/security/cache"
	"github.com/sc-project/sc/pkg/security/sbom"
	"github.com/sc-project/sc/pkg/security/scan/vulndb"
)

// The annotations sc puts on the subject of an SBOM attestation (signed
// with the statement): what made the SBOM, so that a later run, on any
// machine, can tell whether the attested SBOM is the one it would make.
const (
	// AnnotationSBOMConfig is the hash of the SBOM options (format, scope,
	// cataloguers, files) as the cache keys them.
	AnnotationSBOMConfig = "dev.sc.sbom.config"
	// AnnotationSBOMTool is the cataloguer and its version ("syft v1.57.0").
	AnnotationSBOMTool = "dev.sc.sbom.tool"
)

// sbomAnnotations are the subject annotations of an SBOM attestation made
// with the options key names.
func sbomAnnotations(key cache.Key) map[string]string {
	return map[string]string{AnnotationSBOMConfig: key.ConfigHash, AnnotationSBOMTool: key.ToolVersion}
}

// reuseSBOM returns, for GenerateSBOM, the SBOM of d from the registry:
// the newest SBOM attestation of d that verifies under signing.verify's
// policy (the key or identity this run signs with) and whose subject
// annotations name the same options and syft version as key. nil when
// there is none: the SBOM is then generated.
//
// What is reused was proven by this run's own signer about this digest;
// the scan then runs on it as on a cached SBOM. A run that does not verify
// (signing.verify off) has no policy to trust an attestation by, and
// reuses nothing.
func (r *imageRun) reuseSBOM(d name.Digest) func(context.Context, cache.Key) (*SBOM, error) {
	return func(ctx context.Context, key cache.Key) (*SBOM, error) {
		v, err := r.attestVerifier(r.verifyPolicy)
		if err != nil {
			return nil, err
		}
		res, err := v.VerifyDigest(ctx, d, r.sbomFormat.PredicateType())
		switch {
		case errors.Is(err, outcome.ErrCheckFailed):
			return nil, nil // none there, or none that verifies
		case err != nil:
			return nil, err
		}
		want := sbomAnnotations(key)
		for _, a := range res.Verified {
			if a.Text != r.sbomFormat.TextPredicate() || !annotated(a.Statement, d, want) {
				continue
			}
			return r.reusedSBOM(d, a)
		}
		return nil, nil
	}
}

// annotated reports whether the statement's subject d carries every
// annotation of want.
func annotated(statement []byte, d name.Digest, want map[string]string) bool {
	st, err := attest.ParseStatement(statement)
	if err != nil {
		return false
	}
	_, hexDigest, _ := strings.Cut(d.DigestStr(), ":")
	for _, s := range st.Subject {
		if s.GetDigest()["sha256"] != hexDigest {
			continue
		}
		fields := s.GetAnnotations().GetFields()
		for k, v := range want {
			if fields[k].GetStringValue() != v {
				return false
			}
		}
		return true
	}
	return false
}

// reusedSBOM is the SBOM a verified attestation holds, decoded for the
// scan (syft's model, read back by syft's own decoder).
//
// A JSON predicate comes back from the statement as syft's encoder wrote
// it but for the final newline json.Encoder ends a document with: that is
// put back, so that the reused document (the SBOM file, its digest) is
// byte for byte the one the attesting run made.
func (r *imageRun) reusedSBOM(d name.Digest, a attest.Attestation) (*SBOM, error) {
	doc := a.Predicate
	if !a.Text && !bytes.HasSuffix(doc, []byte("\n")) {
		doc = append(slices.Clip(doc), '\n')
	}
	decoded, err := vulndb.DecodeSBOM(doc)
	if err != nil {
		return nil, fmt.Errorf("the SBOM attestation %s of %s: %w", a.Artifact, d, err)
	}
	model := decoded.Syft()
	sum := sha256.Sum256(doc)
	res := sbom.Result{
		Format:        r.sbomFormat,
		SpecVersion:   r.sbomFormat.DefaultSpecVersion(),
		MediaType:     r.sbomFormat.MediaType(),
		PredicateType: r.sbomFormat.PredicateType(),
		Digest:        "sha256:" + hex.EncodeToString(sum[:]),
		Image:         d,
		Scope:         r.sbomScope,
		Tool:          sbom.Tool{Name: model.Descriptor.Name, Version: model.Descriptor.Version},
		Packages:      model.Artifacts.Packages.PackageCount(),
		Document:      doc,
		SBOM:          model,
	}
	return &SBOM{Result: res, Document: doc, Reused: a.Artifact}, nil
}
