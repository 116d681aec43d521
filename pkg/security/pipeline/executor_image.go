package pipeline

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/sbom"
	"github.com/sc-project/sc/pkg/security/scan"
	"github.com/sc-project/sc/pkg/security/signing"
	"github.com/sc-project/sc/pkg/security/signing/setup"
)

// imageRun is one service's image: its plan, made from the configuration
// before anything runs, and the state its steps hand each other. Each field
// of the state is written by one step and read only by the steps that wait
// for it.
type imageRun struct {
	rl    *release
	index int
	svc   api.Service
	sec   *api.Security

	// plan
	sbomFormat   sbom.Format
	sbomScope    sbom.Scope
	policy       scan.Policy
	signer       signing.Signer
	format       signing.Format
	verifyPolicy signing.Policy
	ignoreTlog   bool
	selection    []v1.Platform // platforms: which platform images of an index

	// state
	digest     name.Digest                // resolve: the image, or the index
	isIndex    bool                       // resolve: digest is an image index
	platforms  []*platformRun             // resolve: the image itself, or each selected platform image
	skipped    []registry.SkippedManifest // resolve: manifests of the index not worked on
	provenance []byte                     // provenance-generate: the predicate
	signed     *signing.SignResult        // sign: of digest
}

// plan checks a service's configuration and prepares what its steps need:
// formats, the scan policy (VEX documents read), the signer (key loaded)
// and the verification policy. Its errors stop the release before anything
// runs.
func (rl *release) plan(ctx context.Context, i int, svc api.Service) (*imageRun, error) {
	e := rl.e
	r := &imageRun{rl: rl, index: i, svc: svc, sec: &svc.Security}
	sec := r.sec
	if !sec.Active() {
		return r, nil
	}
	var err error
	if r.selection, err = parsePlatforms(sec.Platforms); err != nil {
		return nil, err
	}
	r.sbomFormat, r.sbomScope = sbom.DefaultFormat, sbom.DefaultScope
	if sec.SBOM != nil {
		if sec.SBOM.Format != "" {
			if r.sbomFormat, err = sbom.ParseFormat(string(sec.SBOM.Format)); err != nil {
				return nil, fmt.Errorf("sbom.format: %w", err)
			}
		}
		if sec.SBOM.Scope != "" {
			if r.sbomScope, err = sbom.ParseScope(string(sec.SBOM.Scope)); err != nil {
				return nil, fmt.Errorf("sbom.scope: %w", err)
			}
		}
	}
	if sec.ScanEnabled() {
		if r.policy, err = scan.PolicyFrom(sec.Scan, e.readFile); err != nil {
			return nil, fmt.Errorf("scan: %w", err)
		}
	}
	if !sec.SigningEnabled() {
		return r, nil
	}
	cfg := sec.Signing
	if e.signers == nil {
		return nil, outcome.Invalid("signing is configured, but the executor was given no signers")
	}
	if setup.NeedsTrustedMaterial(cfg) && e.trusted == nil {
		return nil, outcome.Invalid("signing keylessly or with a transparency log needs Sigstore trusted material (a trusted root) to check signatures")
	}
	r.format = signing.FormatBundle
	if cfg.Format != "" {
		if r.format, err = signing.ParseFormat(string(cfg.Format)); err != nil {
			return nil, fmt.Errorf("signing.format: %w", err)
		}
	}
	if r.signer, err = e.signers.Signer(ctx, cfg); err != nil {
		return nil, err
	}
	r.ignoreTlog = !setup.Logged(cfg)
	if sec.VerifyEnabled() {
		var key any
		if !cfg.IsKeyless() {
			// a key signer's identity is local: no network, no token
			id, err := r.signer.Identity(ctx)
			if err != nil {
				return nil, err
			}
			key = id.PublicKey
		}
		v, err := setup.AfterSigning(ctx, cfg, e.readFile, key)
		if err != nil {
			return nil, err
		}
		r.verifyPolicy = v.Policy
	}
	return r, nil
}

// graph returns the image's steps in graph order, every step of Steps:
// those the configuration turns off are skipped with the reason.
func (r *imageRun) graph() []*step {
	sec := r.sec
	active := sec.Active()
	signs := sec.SigningEnabled()
	verifies := sec.VerifyEnabled()
	sbomOn := sec.SBOMEnabled()
	attachSBOM := sbomOn && (sec.SBOM == nil || sec.SBOM.Attach == nil || *sec.SBOM.Attach)
	sbomOutput := ""
	if sbomOn && sec.SBOM != nil {
		sbomOutput = sec.SBOM.Output
	}
	scans := sec.ScanEnabled()
	provOn := sec.ProvenanceEnabled()
	vulnOn := sec.VulnAttestEnabled()
	vexOn := len(r.policy.VEX) > 0

	// reason returns why a step is turned off: the first of offs that
	// applies, "" when none does
	type off struct {
		when bool
		why  string
	}
	reason := func(offs ...off) string {
		if !active {
			return "security is disabled for this service"
		}
		for _, o := range offs {
			if o.when {
				return o.why
			}
		}
		return ""
	}
	const (
		noSigning = "signing is disabled: attestations are signed, so nothing is attached"
		noVerify  = "signing.verify is disabled"
		noVEX     = "scan.vex lists no VEX document: no statement to attest"
	)
	required := func(b *bool) bool { return b != nil && *b }

	scanRequired := false
	if scans {
		for _, t := range sec.Scan.Tools {
			scanRequired = scanRequired || required(t.Required)
		}
	}
	sbomRequired := sbomOn && sec.SBOM != nil && required(sec.SBOM.Required)
	provRequired := provOn && sec.Provenance != nil && required(sec.Provenance.Required)
	signRequired := signs && required(sec.Signing.Required)

	// An image is never signed unscanned: with a policy that can fail,
	// signing waits for the scan and is refused unless the scan completed
	// and passed; with softFail it goes on and says it was signed without
	// a scan.
	var signRequires []StepName
	if scans && r.policy.CanFail() {
		signRequires = []StepName{StepScan}
	}
	return []*step{
		{name: StepResolve, required: true, skip: reason(), run: r.resolve},
		{name: StepSBOM, required: sbomRequired, needs: []StepName{StepResolve}, run: r.generateSBOM,
			skip: reason(off{!sbomOn && !scans, "sbom and scan are disabled"}, off{!scans && sbomOutput == "" && !(attachSBOM && signs), "nothing uses the SBOM: no scan, no sbom.output, and attaching needs signing"})},
		{name: StepScan, required: scanRequired, needs: []StepName{StepSBOM}, run: r.scanImage,
			skip: reason(off{!scans, "scan is disabled"})},
		{name: StepProvenance, required: provRequired, needs: []StepName{StepResolve}, run: r.generateProvenance,
			skip: reason(off{!provOn, "provenance is disabled"}, off{!signs, noSigning})},
		{name: StepSign, required: signRequired, needs: []StepName{StepResolve}, requires: signRequires, requiresSoft: r.policy.SoftFail, run: r.sign,
			skip: reason(off{!signs, "signing is disabled (no signing block)"})},
		{name: StepVerify, required: signRequired, needs: []StepName{StepSign}, run: r.verifySignature,
			skip: reason(off{!signs, "signing is disabled (no signing block)"}, off{!verifies, noVerify})},
		{name: StepSBOMAttach, required: sbomRequired, needs: []StepName{StepSign, StepSBOM}, run: r.attachSBOM,
			skip: reason(off{!sbomOn, "sbom is disabled"}, off{!attachSBOM, "sbom.attach is false"}, off{!signs, noSigning})},
		{name: StepSBOMVerify, required: sbomRequired, needs: []StepName{StepSBOMAttach}, run: r.verifySBOM,
			skip: reason(off{!sbomOn, "sbom is disabled"}, off{!attachSBOM, "sbom.attach is false"}, off{!signs, noSigning}, off{!verifies, noVerify})},
		{name: StepProvenanceAttach, required: provRequired, needs: []StepName{StepSign, StepProvenance}, run: r.attachProvenance,
			skip: reason(off{!provOn, "provenance is disabled"}, off{!signs, noSigning})},
		{name: StepProvenanceVerify, required: provRequired, needs: []StepName{StepProvenanceAttach}, run: r.verifyProvenance,
			skip: reason(off{!provOn, "provenance is disabled"}, off{!signs, noSigning}, off{!verifies, noVerify})},
		{name: StepVulnAttach, required: scanRequired, needs: []StepName{StepSign, StepScan}, run: r.attachVuln,
			skip: reason(off{!scans, "scan is disabled"}, off{!signs, noSigning}, off{!vulnOn, "scan.attest is false"})},
		{name: StepVulnVerify, required: scanRequired, needs: []StepName{StepVulnAttach}, run: r.verifyVuln,
			skip: reason(off{!scans, "scan is disabled"}, off{!signs, noSigning}, off{!vulnOn, "scan.attest is false"}, off{!verifies, noVerify})},
		{name: StepVEXAttach, required: scanRequired, needs: []StepName{StepSign, StepScan}, run: r.attachVEX,
			skip: reason(off{!scans, "scan is disabled"}, off{!signs, noSigning}, off{!vulnOn, "scan.attest is false"}, off{!vexOn, noVEX})},
		{name: StepVEXVerify, required: scanRequired, needs: []StepName{StepVEXAttach}, run: r.verifyVEX,
			skip: reason(off{!scans, "scan is disabled"}, off{!signs, noSigning}, off{!vulnOn, "scan.attest is false"}, off{!vexOn, noVEX}, off{!verifies, noVerify})},
	}
}

// run runs the image's graph and returns its result.
func (r *imageRun) run(ctx context.Context) *SecurityResult {
	e := r.rl.e
	start := e.now()
	steps := r.graph()
	names := make([]StepName, len(steps))
	for i, s := range steps {
		names[i] = s.name
	}
	res := &SecurityResult{Service: r.svc.Name, Image: r.svc.Image}
	e.observe(Event{Kind: EventImageStarted, Service: r.svc.Name, Index: r.index, Steps: names})
	res.Steps = runGraph(ctx, steps, e.now, func(n StepName, sr *StepResult) {
		if sr == nil {
			e.observe(Event{Kind: EventStepStarted, Service: r.svc.Name, Index: r.index, Step: n})
			return
		}
		cp := *sr
		e.observe(Event{Kind: EventStepFinished, Service: r.svc.Name, Index: r.index, Step: n, Result: &cp})
	})
	if r.digest.DigestStr() != "" {
		res.Digest, res.Reference = r.digest.DigestStr(), r.digest.String()
	}
	if r.isIndex {
		res.Index, res.Skipped = true, r.skipped
		for _, p := range r.platforms {
			res.Platforms = append(res.Platforms, p.result(res.Steps))
		}
	} else if len(r.platforms) == 1 {
		res.SBOM, res.Scan = r.platforms[0].sbom.summary(), r.platforms[0].scan
	}
	res.Duration = e.now().Sub(start)
	res.finish()
	e.observe(Event{Kind: EventImageFinished, Service: r.svc.Name, Index: r.index, Image: res})
	return res
}

// resolve turns the configured reference into a digest, once: every later
// step works on the digest. For an image index it lists the platform
// images to work on (registry.Client.Platforms: the selected ones, without
// buildx's attestation manifests); a selection the index does not have, a
// nested index or one without platform images fail here, before anything
// is read or signed.
func (r *imageRun) resolve(ctx context.Context, sr *StepResult) error {
	d, ps, err := r.platformsOf(ctx)
	if d.DigestStr() != "" {
		// known even when listing its platforms failed
		r.digest = d
		sr.Detail = d.DigestStr()
	}
	if err != nil {
		return err
	}
	r.isIndex, r.skipped = ps.Index, ps.Skipped
	for _, img := range ps.Images {
		r.platforms = append(r.platforms, &platformRun{image: img})
	}
	if ps.Index {
		sr.Detail = describePlatforms(ps)
	}
	return nil
}

// platformsOf resolves the service's image and lists its platform images,
// or takes both from what the caller resolved before the run
// (WithResolved).
func (r *imageRun) platformsOf(ctx context.Context) (name.Digest, *registry.Platforms, error) {
	if res, ok := r.rl.e.resolved[r.svc.Name]; ok && res.Image == r.svc.Image && res.Platforms != nil {
		return res.Platforms.Digest, res.Platforms, nil
	}
	d, err := r.rl.e.reg.Resolve(ctx, r.svc.Image)
	if err != nil {
		return d, nil, err
	}
	ps, err := r.rl.e.reg.Platforms(ctx, d, r.selection...)
	return d, ps, err
}
