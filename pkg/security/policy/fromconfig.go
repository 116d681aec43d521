package policy

import (
	"context"
	"regexp"
	"strings"

	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/attest"
	"github.com/sc-project/sc/pkg/security/signing/setup"
)

// FromConfig derives the policy an image secured under sec (a service's
// effective security, defaults applied, as api.Load returns it) satisfies:
//
//   - the signer is the one signing.verify checks right after signing
//     (setup.AfterSigning): signing.publicKey, whose PEM the policy holds so
//     that it travels without the key file, or the keyless identity and
//     issuer of signing.verify; a transparency log entry is required
//     exactly when the signer records one (tlogUpload);
//   - the attestations sc attaches: the SBOM in its format's type (sbom
//     attach), slsaprovenance1 with the configured builder id (exact), and
//     vuln (scan.attest) with maxSeverity one step below scan.failOn, the
//     highest severity a release that passed its scan can carry ("none"
//     for failOn unknown). maxAge, when not zero, is the vuln attestation's
//     maxAge.
//
// name is the policy's name, made a valid Kubernetes name; images are the
// policy's images. A configuration that does not sign, or signs with a key
// without naming the public key (signing.publicKey), is
// outcome.ErrInvalid: the policy could name no signer.
func FromConfig(ctx context.Context, name string, images []string, sec *api.Security, maxAge api.Duration, readFile func(string) ([]byte, error)) (*api.ImagePolicy, error) {
	if !sec.SigningEnabled() {
		return nil, outcome.Invalid("signing is off in this configuration: an unsigned image satisfies no policy")
	}
	cfg := sec.Signing
	if !cfg.IsKeyless() && cfg.PublicKey == "" {
		return nil, outcome.Invalid("signing.privateKey signs, but a policy needs the public key: set signing.publicKey to the key's .pub file")
	}
	v, err := setup.AfterSigning(ctx, cfg, readFile, nil)
	if err != nil {
		return nil, err
	}
	var s api.PolicySigner
	logged := !v.InsecureIgnoreTlog
	if v.Policy.Key != nil {
		pemText, err := cryptoutils.MarshalPublicKeyToPEM(v.Policy.Key)
		if err != nil {
			return nil, outcome.Invalidf("signing.publicKey: %w", err)
		}
		s.Key = string(pemText)
		if logged {
			s.Transparency = new(true)
		}
	} else {
		id := v.Policy.Identity
		s.Subject, s.SubjectRegExp, s.Issuer, s.IssuerRegExp = id.Subject, id.SubjectRegexp, id.Issuer, id.IssuerRegexp
		if !logged {
			s.Transparency = new(false)
		}
	}
	p := &api.ImagePolicy{APIVersion: api.PolicyAPIVersion, Kind: api.ImagePolicyKind, Name: kubeName(name),
		Images: images, Signers: []api.PolicySigner{s}}
	if sec.SBOMEnabled() && (sec.SBOM == nil || sec.SBOM.Attach == nil || *sec.SBOM.Attach) {
		format := api.SBOMFormat("")
		if sec.SBOM != nil {
			format = sec.SBOM.Format
		}
		p.Attestations = append(p.Attestations, api.PolicyAttestation{Type: sbomType(format)})
	}
	if sec.ProvenanceEnabled() {
		a := api.PolicyAttestation{Type: "slsaprovenance1"}
		if b := sec.Provenance; b != nil && b.Builder != nil && b.Builder.ID != "" {
			a.Provenance = &api.ProvenanceRequirement{BuilderID: &api.Match{Exact: b.Builder.ID}}
		}
		p.Attestations = append(p.Attestations, a)
	}
	if sec.VulnAttestEnabled() {
		a := api.PolicyAttestation{Type: "vuln"}
		req := &api.VulnRequirement{MaxAge: maxAge, MaxSeverity: releasedSeverity(sec.Scan)}
		if req.MaxAge != 0 || req.MaxSeverity != "" {
			a.Vuln = req
		}
		p.Attestations = append(p.Attestations, a)
	}
	if err := validate(p); err != nil {
		return nil, err
	}
	return p, nil
}

// releasedSeverity is the highest severity an image the scan block lets
// through can carry: one step below its failOn, or below the most lenient
// scanner's failOn when a scanner overrides it (a finding under that
// scanner's threshold passes); "" (no limit) with softFail, which signs
// violating images too, or when a threshold fails on nothing.
func releasedSeverity(sc *api.Scan) api.Severity {
	if sc == nil {
		return api.DefaultFailOn.Below()
	}
	if sc.SoftFail != nil && *sc.SoftFail {
		return ""
	}
	failOn := sc.FailOn
	if failOn == "" {
		failOn = api.DefaultFailOn
	}
	for _, t := range sc.Tools {
		if t.FailOn != "" && t.FailOn.Rank() > failOn.Rank() {
			failOn = t.FailOn
		}
	}
	if !failOn.Valid() {
		return "" // failOn none: nothing fails the scan
	}
	if max := failOn.Below(); max != "" {
		return max
	}
	return api.MaxSeverityNone
}

// sbomType is the attestation type sc attaches an SBOM of format f under:
// cosign's name for it, or syft's predicate type URI.
func sbomType(f api.SBOMFormat) string {
	switch f {
	case api.SBOMSPDXJSON:
		return "spdxjson"
	case api.SBOMSPDXTagValue:
		return "spdx"
	case api.SBOMSyftJSON:
		return attest.PredicateSyft
	}
	return "cyclonedx" // the default, cyclonedx-json, and cyclonedx-xml
}

var notKubeName = regexp.MustCompile(`[^a-z0-9]+`)

// kubeName makes s a Kubernetes object name: lower case, runs of other
// characters a '-', none at the ends; "sc-policy" when nothing is
// left.
func kubeName(s string) string {
	n := notKubeName.ReplaceAllString(strings.ToLower(s), "-")
	n = strings.Trim(n, "-")
	if len(n) > 253 {
		n = strings.Trim(n[:253], "-")
	}
	if n == "" {
		return "sc-policy"
	}
	return n
}
