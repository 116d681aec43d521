package sbom_test

import (
	"context"
	"slices"
	"testing"

	"github.com/anchore/syft/syft/license"
	"github.com/anchore/syft/syft/pkg"

	"github.com/sc-project/sc/pkg/security/sbom"
)

// TestGenerateKeepsDeclaredLicenses checks that the licenses the fixture's
// packages declare (Debian copyright files, npm lock-file entries) are in
// the SBOM, as declarations with their SPDX expressions where they have
// one, and without license text: what SBOM consumers read, whether or not
// syft's license scanner was prepared beforehand.
func TestGenerateKeepsDeclaredLicenses(t *testing.T) {
	p := pushFixture(t)
	prepared, err := sbom.Prepare(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		ctx  context.Context
	}{
		{"fresh", context.Background()},
		{"prepared", prepared},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := sbom.Generate(tc.ctx, p.ref, p.image)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []struct {
				typ        pkg.Type
				name       string
				values     []string
				expression string
			}{
				{pkg.DebPkg, "openssl", []string{"Apache-2.0"}, "Apache-2.0"},
				{pkg.DebPkg, "libssl3", []string{"Apache-2.0"}, "Apache-2.0"},
				{pkg.DebPkg, "bash", []string{"GPL-3+"}, "GPL-3.0-or-later"},
				{pkg.NpmPkg, "express", []string{"MIT"}, "MIT"},
				{pkg.NpmPkg, "accepts", []string{"MIT"}, "MIT"},
			} {
				got := find(res.SBOM, want.typ, want.name)
				if len(got) == 0 {
					t.Fatalf("no %s package %s", want.typ, want.name)
				}
				var values []string
				var found *pkg.License
				for _, l := range got[0].Licenses.ToSlice() {
					values = append(values, l.Value)
					if l.Contents != "" {
						t.Errorf("%s: license %s carries its text, which was not asked for", want.name, l.Value)
					}
					if l.Value == want.values[0] {
						found = &l
					}
				}
				for _, v := range want.values {
					if !slices.Contains(values, v) {
						t.Errorf("%s %s: licenses %q, want %q among them", want.typ, want.name, values, v)
					}
				}
				if found == nil {
					continue
				}
				if found.Type != license.Declared {
					t.Errorf("%s: license %s is %s, want declared", want.name, found.Value, found.Type)
				}
				if found.SPDXExpression != want.expression {
					t.Errorf("%s: license %s has SPDX expression %q, want %q", want.name, found.Value, found.SPDXExpression, want.expression)
				}
			}
		})
	}
}
