package scan_test

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/scan"
)

func TestVEX(t *testing.T) {
	doc, err := scan.LoadVEX(filepath.Join("testdata", "vex", "fixture.openvex.json"))
	if err != nil {
		t.Fatalf("LoadVEX: %v", err)
	}
	r := findings()
	lodash := match("GHSA-2099-aaaa-0001", scan.High, "lodash", "4.17.20", "4.17.21")
	lodash.Aliases = []string{"CVE-2099-1001"}
	lodash.Package.PURL = "pkg:npm/lodash@4.17.20"
	r.Matches = append(r.Matches,
		lodash,
		match("CVE-2099-0001", scan.Critical, "openssl", "3.0.11-1~deb12u2"),
	)
	p := scan.DefaultPolicy()
	p.VEX = []*scan.VEX{doc}
	res := scan.Evaluate(image, []*scan.Report{r}, p, now)

	suppressed := map[string]scan.IgnoredMatch{}
	for _, m := range res.Ignored {
		suppressed[m.ID+"/"+m.Package.Name] = m
	}
	for _, tc := range []struct {
		key, status string
	}{
		{"CVE-2099-0001/libssl3", "not_affected"}, // image purl product, package subcomponent
		{"CVE-2099-0003/zlib1g", "fixed"},         // package purl product
		{"CVE-2099-1001/lodash", "not_affected"},  // grype said GHSA-…, with this alias; image reference product
	} {
		m, ok := suppressed[tc.key]
		if !ok {
			t.Errorf("%s not suppressed; ignored: %v", tc.key, ignoredIDs(res.Ignored))
			continue
		}
		if m.SuppressedBy.Kind != scan.SuppressedByVEX || m.SuppressedBy.VEX == nil || m.SuppressedBy.VEX.Status != tc.status ||
			m.SuppressedBy.VEX.Document != "https://example.invalid/vex/orders-api-2026-11" {
			t.Errorf("%s suppressed by %+v, want VEX %s from the document", tc.key, m.SuppressedBy, tc.status)
		}
	}
	if got := suppressed["CVE-2099-0001/libssl3"].SuppressedBy.Reason; got != "VEX: not_affected: vulnerable_code_not_in_execute_path: TLS is terminated by the ingress proxy; libssl3 is never called." {
		t.Errorf("reason = %q", got)
	}
	if len(res.Ignored) != 3 {
		t.Errorf("ignored = %v, want exactly 3", ignoredIDs(res.Ignored))
	}
	kept := map[string]scan.Match{}
	for _, m := range res.Matches {
		kept[m.ID+"/"+m.Package.Name] = m
	}
	// openssl is not a subcomponent of the statement about CVE-2099-0001
	if _, ok := kept["CVE-2099-0001/openssl"]; !ok {
		t.Error("CVE-2099-0001 in openssl was suppressed; the statement's subcomponent is libssl3 only")
	}
	// under_investigation does not suppress, and shows on the finding
	if m := kept["CVE-2099-0002/openssl"]; m.VEX == nil || m.VEX.Status != "under_investigation" {
		t.Errorf("CVE-2099-0002: VEX = %+v, want under_investigation shown, not suppressed", m.VEX)
	}
	// the later affected statement overrides the earlier not_affected
	if m, ok := kept["CVE-2099-0004/curl"]; !ok || m.VEX == nil || m.VEX.Status != "affected" {
		t.Errorf("CVE-2099-0004: %+v; want kept with the latest statement (affected)", m)
	}
	// a statement about another image does not apply
	if _, ok := kept["CVE-2099-0005/libc6"]; !ok {
		t.Error("CVE-2099-0005 was suppressed by a statement about another image")
	}
	if !slices.Contains(res.Verdict.Failing, "CVE-2099-0002") || slices.Contains(res.Verdict.Failing, "CVE-2099-1001") {
		t.Errorf("failing = %v", res.Verdict.Failing)
	}
}

func TestParseVEXMalformed(t *testing.T) {
	for _, tc := range []struct{ name, doc string }{
		{"not json", "not_affected"},
		{"not openvex", `{"@context":"https://cyclonedx.org","statements":[]}`},
		{"bad status", `{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":{"name":"CVE-1"},"status":"fine"}]}`},
		{"no vulnerability", `{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"status":"fixed"}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := scan.ParseVEX([]byte(tc.doc), "doc.json")
			if !errors.Is(err, scan.ErrMalformedVEX) || outcome.Code(err) != outcome.ExitInvalid {
				t.Errorf("ParseVEX = %v, want ErrMalformedVEX (exit 2)", err)
			}
		})
	}
	if _, err := scan.LoadVEX(filepath.Join(t.TempDir(), "missing.json")); !errors.Is(err, scan.ErrMalformedVEX) {
		t.Errorf("LoadVEX(missing) = %v", err)
	}
}

func FuzzParseVEX(f *testing.F) {
	f.Add(readTestdata(f, filepath.Join("vex", "fixture.openvex.json")))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := scan.ParseVEX(data, "fuzz")
		if err != nil {
			if !errors.Is(err, scan.ErrMalformedVEX) {
				t.Fatalf("error %v is not ErrMalformedVEX", err)
			}
			return
		}
		p := scan.Policy{VEX: []*scan.VEX{v}}
		_ = scan.Evaluate(image, []*scan.Report{findings()}, p, now)
	})
}
