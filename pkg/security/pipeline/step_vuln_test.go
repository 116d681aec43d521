package pipeline_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/sigstore/cosign/v3/pkg/cosign/attestation"

	"github.com/sc-project/sc/pkg/security/pipeline"
	"github.com/sc-project/sc/pkg/security/runenv"
	"github.com/sc-project/sc/pkg/security/scan"
)

// The vuln predicate reads as cosign's CosignVulnPredicate: sc as the
// scanner, grype's database, the findings' own times (not when a cached
// report was replayed), the CI run; the cache flags are left out so that a
// replay makes the same statement.
func TestVulnPredicate(t *testing.T) {
	t1 := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	t2 := t1.Add(3 * time.Second)
	built := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	res := &scan.Result{
		Image: "registry.example/app@sha256:aa", Digest: "sha256:aa", ScannedAt: t1, Cached: true,
		Scanners: []scan.ScannerInfo{
			{Name: "grype", Version: "v0.121.2", ScannedAt: t1, Cached: true, DB: &scan.DBInfo{Built: built, Schema: "v6.1.10", Source: "https://grype.anchore.io/databases"}},
			{Name: "trivy", Version: "0.74.0", ScannedAt: t2},
		},
		Matches: []scan.Match{{ID: "CVE-2099-0001", Severity: "critical"}},
		Verdict: scan.Verdict{Status: scan.Fail},
	}
	ec := &runenv.Context{CI: runenv.CI{RunID: "42", RunURL: "https://ci.example/run/42"}}
	raw, err := pipeline.VulnPredicate(res, "v1.2.3", ec)
	if err != nil {
		t.Fatal(err)
	}
	var p attestation.CosignVulnPredicate
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatalf("not cosign's vuln predicate: %v", err)
	}
	if p.Scanner.URI != "pkg:golang/github.com/sc-project/sc@v1.2.3" || p.Scanner.Version != "v1.2.3" {
		t.Errorf("scanner %q %q", p.Scanner.URI, p.Scanner.Version)
	}
	if p.Scanner.DB.URI != "https://grype.anchore.io/databases" || p.Scanner.DB.Version != "grype v6.1.10 built 2026-11-29T00:00:00Z" {
		t.Errorf("db %+v", p.Scanner.DB)
	}
	if !p.Metadata.ScanStartedOn.Equal(t1) || !p.Metadata.ScanFinishedOn.Equal(t2) {
		t.Errorf("metadata %+v, want the findings' times %s–%s", p.Metadata, t1, t2)
	}
	if p.Invocation.URI != "https://ci.example/run/42" || p.Invocation.EventID != "42" {
		t.Errorf("invocation %+v", p.Invocation)
	}
	var got scan.Result
	b, _ := json.Marshal(p.Scanner.Result)
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Digest != "sha256:aa" || len(got.Matches) != 1 || got.Verdict.Status != scan.Fail {
		t.Errorf("result %+v: want the findings and the verdict", got)
	}
	if got.Cached || got.Scanners[0].Cached {
		t.Errorf("result says cached: a replay would make another statement")
	}
	if !res.Cached || !res.Scanners[0].Cached {
		t.Errorf("VulnPredicate changed its argument")
	}
	res.Cached = false
	again, err := pipeline.VulnPredicate(res, "v1.2.3", ec)
	if err != nil || string(again) != string(raw) {
		t.Errorf("a fresh and a replayed result make different predicates")
	}
	if _, err := pipeline.VulnPredicate(nil, "", nil); err == nil {
		t.Error("no error for a nil result")
	}
}
