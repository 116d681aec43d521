package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sigstore/cosign/v3/pkg/cosign/attestation"

	"github.com/sc-project/sc/pkg/security/attest"
	"github.com/sc-project/sc/pkg/security/runenv"
	"github.com/sc-project/sc/pkg/security/scan"
)

// VulnPredicateType is the predicate type of a scan result attested in
// cosign's vulnerability predicate: what `cosign attest --type vuln`
// writes and `cosign verify-attestation --type vuln` and Kyverno's
// attestation conditions read.
const VulnPredicateType = attest.PredicateVuln

// VulnPredicate is the scan result r as cosign's vulnerability predicate
// (attestation.CosignVulnPredicate): scanner is sc at version, its database
// the first scanner's that says which (grype's), its result the scan.Result
// JSON (matches with severities, ignored findings, verdict), and
// metadata.scanStartedOn/scanFinishedOn the oldest and newest time a
// scanner matched, so that a report replayed from the cache keeps the age
// of its findings. invocation names the CI run from ec, when there is one.
//
// The statement depends only on r and ec: a warm run that replays the same
// findings under the same policy makes the same predicate (whether the
// findings came from the cache is left out), so that an attestation already
// there is reused, not written again.
func VulnPredicate(r *scan.Result, version string, ec *runenv.Context) ([]byte, error) {
	if r == nil {
		return nil, errors.New("no scan result to attest")
	}
	res := *r
	res.Cached = false
	res.Scanners = make([]scan.ScannerInfo, len(r.Scanners))
	started, finished := r.ScannedAt, r.ScannedAt
	var db attestation.DB
	for i, s := range r.Scanners {
		s.Cached = false
		res.Scanners[i] = s
		if !s.ScannedAt.IsZero() {
			if started.IsZero() || s.ScannedAt.Before(started) {
				started = s.ScannedAt
			}
			if s.ScannedAt.After(finished) {
				finished = s.ScannedAt
			}
		}
		if db.Version == "" && s.DB != nil {
			db = attestation.DB{URI: s.DB.Source, Version: dbVersion(s)}
		}
	}
	if version == "" {
		version = "devel"
	}
	// grype's match details are its own structs when just matched and
	// maps when replayed from the cache: one canonical form (objects with
	// sorted keys) makes the same findings the same statement
	raw, err := json.Marshal(res)
	if err != nil {
		return nil, fmt.Errorf("writing the scan result of %s: %w", r.Image, err)
	}
	var canonical any
	if err := json.Unmarshal(raw, &canonical); err != nil {
		return nil, fmt.Errorf("reading the scan result of %s: %w", r.Image, err)
	}
	p := attestation.CosignVulnPredicate{
		Scanner: attestation.Scanner{
			URI:     "pkg:golang/github.com/sc-project/sc@" + version,
			Version: version,
			DB:      db,
			Result:  canonical,
		},
		Metadata: attestation.Metadata{ScanStartedOn: started.UTC(), ScanFinishedOn: finished.UTC()},
	}
	if ec != nil {
		p.Invocation = attestation.Invocation{URI: ec.CI.RunURL, EventID: ec.CI.RunID}
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("writing the vuln predicate of %s: %w", r.Image, err)
	}
	return b, nil
}

// dbVersion names a scanner's database as "<scanner> <schema> built
// <time>": what a reader needs to tell how fresh the findings are.
func dbVersion(s scan.ScannerInfo) string {
	parts := []string{s.Name}
	if s.DB.Schema != "" {
		parts = append(parts, s.DB.Schema)
	}
	if !s.DB.Built.IsZero() {
		parts = append(parts, "built "+s.DB.Built.UTC().Format(time.RFC3339))
	}
	return strings.Join(parts, " ")
}

// attachVuln attaches each platform image's scan result as a signed
// vulnerability attestation (VulnPredicate), unless the same statement by
// the same signer already verifies.
func (r *imageRun) attachVuln(ctx context.Context, sr *StepResult) error {
	e := r.rl.e
	return errors.Join(r.perPlatform(ctx, sr, func(ctx context.Context, pr *platformRun, sr *StepResult) error {
		data, err := VulnPredicate(pr.scan, e.version, e.ec)
		if err != nil {
			return err
		}
		a, err := r.attach(ctx, sr, pr.image.Digest, attest.Predicate{Type: VulnPredicateType, Data: data}, true)
		pr.vulnAttested = a
		return err
	})...)
}

// verifyVuln checks that each vulnerability attestation verifies.
func (r *imageRun) verifyVuln(ctx context.Context, sr *StepResult) error {
	return errors.Join(r.perPlatform(ctx, sr, func(ctx context.Context, pr *platformRun, sr *StepResult) error {
		return r.verifyAttestation(ctx, sr, pr.image.Digest, VulnPredicateType, pr.vulnAttested)
	})...)
}
