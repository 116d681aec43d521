package provenance_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/provenance"
)

const (
	goodBuilder = "https://github.com/acme/shop/.github/workflows/release.yml@refs/heads/main"
	goodSource  = "https://github.com/acme/shop"
)

// goldenPredicate reads the GitHub golden statement, so that the checks run
// on what Generate really writes.
func goldenPredicate(t *testing.T) *slsa.Provenance {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "github-actions.json"))
	if err != nil {
		t.Fatal(err)
	}
	_, pred, err := provenance.Parse(raw)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return pred
}

func TestVerify(t *testing.T) {
	tests := []struct {
		name   string
		exp    provenance.Expectations
		tamper func(*slsa.Provenance)
		// want lists the mismatching fields, in order; none means Verify
		// passes.
		want []string
	}{{
		name: "all match",
		exp:  provenance.Expectations{BuilderID: goodBuilder, SourceURI: goodSource, Commit: commit},
	}, {
		name: "source spelled differently",
		exp:  provenance.Expectations{SourceURI: "git+https://GitHub.com/acme/shop.git", Commit: strings.ToUpper(commit)},
	}, {
		name: "a short commit (git's 7-digit prefix) matches",
		exp:  provenance.Expectations{Commit: commit[:7]},
	}, {
		name: "a longer prefix in upper case matches",
		exp:  provenance.Expectations{Commit: strings.ToUpper(commit[:12])},
	}, {
		name: "a prefix of another commit",
		exp:  provenance.Expectations{Commit: "0000000"},
		want: []string{
			"buildDefinition.externalParameters.source.commit",
			"buildDefinition.resolvedDependencies[0].digest.gitCommit",
		},
	}, {
		name: "builder only",
		exp:  provenance.Expectations{BuilderID: goodBuilder},
	}, {
		name: "builder from another workflow",
		exp:  provenance.Expectations{BuilderID: "https://github.com/acme/shop/.github/workflows/dev.yml@refs/heads/main"},
		want: []string{"runDetails.builder.id"},
	}, {
		name: "builder from another ref",
		exp:  provenance.Expectations{BuilderID: "https://github.com/acme/shop/.github/workflows/release.yml@refs/tags/v1"},
		want: []string{"runDetails.builder.id"},
	}, {
		name: "builder by prefix",
		exp:  provenance.Expectations{BuilderIDPrefix: "https://github.com/acme/shop/.github/workflows/release.yml@"},
	}, {
		name: "builder prefix of another workflow",
		exp:  provenance.Expectations{BuilderIDPrefix: "https://github.com/acme/shop/.github/workflows/dev.yml@"},
		want: []string{"runDetails.builder.id"},
	}, {
		name: "source by organisation prefix, spelled differently",
		exp:  provenance.Expectations{SourceURIPrefix: "git+https://GitHub.com/acme/"},
	}, {
		name: "source prefix naming the whole repository",
		exp:  provenance.Expectations{SourceURIPrefix: goodSource},
	}, {
		name: "source prefix of a look-alike organisation",
		exp:  provenance.Expectations{SourceURIPrefix: "https://github.com/acm/"},
		want: []string{
			"buildDefinition.externalParameters.source.uri",
			"buildDefinition.resolvedDependencies[0].uri",
		},
	}, {
		name: "source prefix of another organisation",
		exp:  provenance.Expectations{SourceURIPrefix: "https://github.com/evil/"},
		want: []string{
			"buildDefinition.externalParameters.source.uri",
			"buildDefinition.resolvedDependencies[0].uri",
		},
	}, {
		name: "another repository",
		exp:  provenance.Expectations{SourceURI: "https://github.com/acme/shop-fork"},
		want: []string{
			"buildDefinition.externalParameters.source.uri",
			"buildDefinition.resolvedDependencies[0].uri",
		},
	}, {
		name: "another commit",
		exp:  provenance.Expectations{Commit: strings.Repeat("0", 40)},
		want: []string{
			"buildDefinition.externalParameters.source.commit",
			"buildDefinition.resolvedDependencies[0].digest.gitCommit",
		},
	}, {
		name: "every field wrong",
		exp:  provenance.Expectations{BuilderID: "https://evil.example.com", SourceURI: "https://evil.example.com/x", Commit: strings.Repeat("0", 40)},
		want: []string{
			"runDetails.builder.id",
			"buildDefinition.externalParameters.source.uri",
			"buildDefinition.resolvedDependencies[0].uri",
			"buildDefinition.externalParameters.source.commit",
			"buildDefinition.resolvedDependencies[0].digest.gitCommit",
		},
	}, {
		name: "tampered git dependency commit",
		exp:  provenance.Expectations{Commit: commit},
		tamper: func(p *slsa.Provenance) {
			p.GetBuildDefinition().GetResolvedDependencies()[0].Digest["gitCommit"] = strings.Repeat("f", 40)
		},
		want: []string{"buildDefinition.resolvedDependencies[0].digest.gitCommit"},
	}, {
		name: "tampered git dependency repository",
		exp:  provenance.Expectations{SourceURI: goodSource},
		tamper: func(p *slsa.Provenance) {
			p.GetBuildDefinition().GetResolvedDependencies()[0].Uri = "git+https://github.com/evil/shop@" + commit
		},
		want: []string{"buildDefinition.resolvedDependencies[0].uri"},
	}, {
		name: "source missing",
		exp:  provenance.Expectations{SourceURI: goodSource, Commit: commit},
		tamper: func(p *slsa.Provenance) {
			p.BuildDefinition.ExternalParameters = &structpb.Struct{Fields: map[string]*structpb.Value{"x": structpb.NewStringValue("y")}}
			p.BuildDefinition.ResolvedDependencies = nil
		},
		want: []string{
			"buildDefinition.externalParameters.source.uri",
			"buildDefinition.externalParameters.source.commit",
		},
	}, {
		name: "source as a number",
		exp:  provenance.Expectations{SourceURI: goodSource},
		tamper: func(p *slsa.Provenance) {
			p.BuildDefinition.ExternalParameters.Fields["source"] = structpb.NewNumberValue(1)
		},
		want: []string{"buildDefinition.externalParameters.source.uri"},
	}, {
		name: "another build type",
		exp:  provenance.Expectations{BuilderID: goodBuilder, SourceURI: goodSource},
		tamper: func(p *slsa.Provenance) {
			p.BuildDefinition.BuildType = "https://actions.github.io/buildtypes/workflow/v1"
		},
		want: []string{"buildDefinition.buildType"},
	}, {
		name: "another build type, builder only",
		exp:  provenance.Expectations{BuilderID: goodBuilder},
		tamper: func(p *slsa.Provenance) {
			p.BuildDefinition.BuildType = "https://actions.github.io/buildtypes/workflow/v1"
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pred := proto.Clone(goldenPredicate(t)).(*slsa.Provenance)
			if tt.tamper != nil {
				tt.tamper(pred)
			}
			err := provenance.Verify(pred, tt.exp)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Verify passed, want a mismatch")
			}
			if !errors.Is(err, provenance.ErrMismatch) || outcome.Code(err) != outcome.ExitCheckFailed {
				t.Errorf("error %v: want ErrMismatch with exit code %d, got %d", err, outcome.ExitCheckFailed, outcome.Code(err))
			}
			var first *provenance.MismatchError
			if !errors.As(err, &first) || first.Field != tt.want[0] {
				t.Errorf("errors.As gives %+v, want field %s", first, tt.want[0])
			}
			var fields []string
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var m *provenance.MismatchError
				if !errors.As(e, &m) {
					t.Fatalf("%v is not a *MismatchError", e)
				}
				fields = append(fields, m.Field)
				if !strings.Contains(e.Error(), m.Field) || !strings.Contains(e.Error(), m.Want) {
					t.Errorf("message %q does not name the field and the expected value", e)
				}
			}
			if diff := cmp.Diff(tt.want, fields); diff != "" {
				t.Errorf("mismatching fields (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVerifyRefusesAmbiguousCommit(t *testing.T) {
	for _, c := range []string{commit[:6], "4f2c1e0z", "main", "HEAD~1"} {
		err := provenance.Verify(goldenPredicate(t), provenance.Expectations{Commit: c})
		if !errors.Is(err, provenance.ErrInvalidExpectation) || outcome.Code(err) != outcome.ExitInvalid {
			t.Errorf("Commit %q: %v, want ErrInvalidExpectation (exit %d)", c, err, outcome.ExitInvalid)
		}
	}
}

func TestVerifyUnusable(t *testing.T) {
	if err := provenance.Verify(goldenPredicate(t), provenance.Expectations{}); !errors.Is(err, provenance.ErrNoExpectations) ||
		outcome.Code(err) != outcome.ExitInvalid {
		t.Errorf("Verify without expectations: %v, want ErrNoExpectations (invalid)", err)
	}
	if err := provenance.Verify(nil, provenance.Expectations{BuilderID: goodBuilder}); !errors.Is(err, provenance.ErrMalformed) {
		t.Errorf("Verify of nil: %v, want ErrMalformed", err)
	}
}

func TestParseMalformed(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "github-actions.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data string
	}{
		{name: "not JSON", data: "not json"},
		{name: "empty object", data: "{}"},
		{name: "wrong statement type", data: strings.Replace(string(good), "https://in-toto.io/Statement/v1", "https://example.com/Statement", 1)},
		{name: "wrong predicate type", data: strings.Replace(string(good), `"https://slsa.dev/provenance/v1"`, `"https://slsa.dev/provenance/v0.2"`, 1)},
		{name: "no builder id", data: strings.Replace(string(good), `"id": "`+goodBuilder+`"`, `"id": ""`, 1)},
		{name: "no subject digest", data: strings.Replace(string(good), `"sha256": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"`, `"sha256": "zz"`, 1)},
		{name: "predicate of the wrong shape", data: strings.Replace(string(good), `"buildType": "https://sc.dev/buildtypes/container-image/v1"`, `"buildType": 7`, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.data == string(good) {
				t.Fatal("the test case did not change the statement")
			}
			_, _, err := provenance.Parse([]byte(tt.data))
			if !errors.Is(err, provenance.ErrMalformed) || outcome.Code(err) != outcome.ExitCheckFailed {
				t.Errorf("Parse error %v, want ErrMalformed (check failed)", err)
			}
		})
	}
	// Fields SLSA does not define are ignored, as consumers must.
	extended := strings.Replace(string(good), `"buildDefinition": {`, `"x-vendor": {"a": 1}, "buildDefinition": {`, 1)
	if _, _, err := provenance.Parse([]byte(extended)); err != nil {
		t.Errorf("Parse of a predicate with an extension field: %v", err)
	}
}

// FuzzParse feeds arbitrary bytes to Parse, which reads statements fetched
// from registries: it must not panic, and a statement it accepts must be
// verifiable without panicking either.
func FuzzParse(f *testing.F) {
	good, err := os.ReadFile(filepath.Join("testdata", "github-actions.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"ab"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{}}`))
	f.Add([]byte("{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, pred, err := provenance.Parse(data)
		if err != nil {
			if !errors.Is(err, provenance.ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		err = provenance.Verify(pred, provenance.Expectations{BuilderID: goodBuilder, SourceURI: goodSource, Commit: commit})
		if err != nil && !errors.Is(err, provenance.ErrMismatch) {
			t.Fatalf("Verify error %v is not ErrMismatch", err)
		}
	})
}
