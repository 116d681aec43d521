package reportflags_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	fakedojo "github.com/sc-project/sc/internal/testutil/defectdojo"
	"github.com/sc-project/sc/pkg/cmd/internal/reportflags"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/report"
	"github.com/sc-project/sc/pkg/security/report/defectdojo"
	"github.com/sc-project/sc/pkg/security/scan"
)

const dojoKey = "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432"

func envRoot(m map[string]string) *options.Root {
	return &options.Root{Version: "v1.2.3", Getenv: func(k string) string { return m[k] }}
}

func scanResult(image string) *scan.Result {
	return &scan.Result{
		SchemaVersion: scan.SchemaVersion,
		Image:         image,
		Digest:        image[strings.Index(image, "@")+1:],
		ScannedAt:     time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC),
		Scanners:      []scan.ScannerInfo{{Name: "grype", Version: "v0.121.2"}},
		Matches: []scan.Match{{
			ID: "CVE-2099-0001", Severity: scan.High, FoundBy: []string{"grype"},
			Package: scan.Package{Name: "openssl", Version: "3.0.11", Type: "deb", Locations: []string{"/var/lib/dpkg/status"}},
			Fix:     scan.Fix{State: scan.FixStateFixed, Versions: []string{"3.0.12"}},
		}},
		Ignored: []scan.IgnoredMatch{},
		Counts:  scan.Counts{High: 1, Total: 1},
		Verdict: scan.Verdict{Status: scan.Fail, FailOn: scan.High, Failing: []string{"CVE-2099-0001"}},
	}
}

const (
	ordersImage = "registry.example/shop/orders-api@sha256:749ba80b11e68a699101007845153a4d865489601a608fb5109e0d12fd0f832d"
	cartImage   = "registry.example/shop/cart@sha256:1111111111111111111111111111111111111111111111111111111111111111"
)

func TestValidate(t *testing.T) {
	dojo := func(o options.Report) options.Report {
		o.DefectDojoURL = "https://dojo.example"
		return o
	}
	withKey := envRoot(map[string]string{options.EnvDefectDojoAPIKey: dojoKey})
	for _, tt := range []struct {
		name string
		o    options.Report
		root *options.Root
		want string // "" for valid
	}{
		{"nothing", options.Report{}, envRoot(nil), ""},
		{"files", options.Report{SARIF: "a", Summary: "b", PRComment: "c"}, envRoot(nil), ""},
		{"same file twice", options.Report{SARIF: "out", PRComment: "./out"}, envRoot(nil), "name the same file"},
		{"product without URL", options.Report{DefectDojoProduct: "shop"}, envRoot(nil), "--defectdojo-product needs --defectdojo-url"},
		{"auto-create without URL", options.Report{DefectDojoAutoCreate: true}, envRoot(nil), "--defectdojo-auto-create needs --defectdojo-url"},
		{"key from the environment", dojo(options.Report{DefectDojoProduct: "shop", DefectDojoEngagement: "CI"}), withKey, ""},
		{"key from the flag", dojo(options.Report{DefectDojoAPIKey: dojoKey, DefectDojoProduct: "1", DefectDojoEngagement: "2"}), envRoot(nil), ""},
		{"engagement ID alone", dojo(options.Report{DefectDojoEngagement: "2"}), withKey, ""},
		{"no key", dojo(options.Report{DefectDojoProduct: "shop", DefectDojoEngagement: "CI"}), envRoot(nil), options.EnvDefectDojoAPIKey},
		{"no product", dojo(options.Report{DefectDojoEngagement: "CI"}), withKey, "--defectdojo-product"},
		{"no engagement", dojo(options.Report{DefectDojoProduct: "shop"}), withKey, "--defectdojo-engagement"},
		{"auto-create by engagement ID", dojo(options.Report{DefectDojoProduct: "shop", DefectDojoEngagement: "2", DefectDojoAutoCreate: true}), withKey, "engagement by name"},
		{"plain HTTP", options.Report{DefectDojoURL: "http://dojo.example", DefectDojoProduct: "shop", DefectDojoEngagement: "CI"}, withKey, "clear text"},
		{"plain HTTP allowed", options.Report{DefectDojoURL: "http://dojo.example", DefectDojoInsecureHTTP: true, DefectDojoProduct: "shop", DefectDojoEngagement: "CI"}, withKey, ""},
		{"bad URL", options.Report{DefectDojoURL: "dojo.example", DefectDojoProduct: "shop", DefectDojoEngagement: "CI"}, withKey, "--defectdojo-url"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.o
			err := reportflags.Validate(tt.root, &tt.o)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate = %v, want ok", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || outcome.Code(err) != outcome.ExitInvalid):
				t.Errorf("Validate = %v, want a usage error about %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), dojoKey) {
				t.Errorf("the API key is in the error: %v", err)
			}
			if diff := cmp.Diff(before, tt.o); diff != "" {
				t.Errorf("Validate changed the flags:\n%s", diff)
			}
		})
	}
}

func TestWrite(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	stepSummary := filepath.Join(dir, "step-summary.md")
	if err := os.WriteFile(stepSummary, []byte("# earlier step\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := fakedojo.New(t, dojoKey)
	s.AddEngagement(s.AddProduct("shop", "Web"), "CI")
	root := envRoot(map[string]string{options.EnvDefectDojoAPIKey: dojoKey, options.EnvGitHubStepSummary: stepSummary})
	o := options.Report{
		SARIF:         filepath.Join(dir, "scan.sarif"),
		PRComment:     filepath.Join(dir, "comment.md"),
		DefectDojoURL: s.URL, DefectDojoProduct: "shop", DefectDojoEngagement: "CI", DefectDojoCloseOldFindings: true,
	}
	if err := reportflags.Write(ctx, root, &o, reportflags.StepSummary(root), scanResult(ordersImage), scanResult(cartImage)); err != nil {
		t.Fatalf("Write: %v", err)
	}

	data, err := os.ReadFile(o.SARIF)
	if err != nil {
		t.Fatal(err)
	}
	var log struct {
		Runs []struct {
			Tool struct {
				Driver struct{ Version string } `json:"driver"`
			} `json:"tool"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(data, &log); err != nil || len(log.Runs) != 2 || log.Runs[0].Tool.Driver.Version != "v1.2.3" {
		t.Errorf("SARIF: %v, %+v; want two runs by sc v1.2.3", err, log)
	}
	summary, _ := os.ReadFile(stepSummary)
	if !strings.HasPrefix(string(summary), "# earlier step\n## Vulnerability scan: FAIL (2 images)") {
		t.Errorf("the job summary was not appended to:\n%.200s", summary)
	}
	comment, _ := os.ReadFile(o.PRComment)
	if !strings.HasPrefix(string(comment), report.PRCommentMarker) {
		t.Errorf("PR comment:\n%.200s", comment)
	}
	if tests := s.Tests(); len(tests) != 2 {
		t.Errorf("DefectDojo has %d tests, want one per image", len(tests))
	}

	t.Run("summary file replaces the step summary", func(t *testing.T) {
		o := options.Report{Summary: filepath.Join(dir, "summary.md")}
		before, _ := os.ReadFile(stepSummary)
		if err := reportflags.Write(ctx, root, &o, reportflags.StepSummary(root), scanResult(ordersImage)); err != nil {
			t.Fatal(err)
		}
		after, _ := os.ReadFile(stepSummary)
		got, _ := os.ReadFile(o.Summary)
		if string(before) != string(after) || !strings.HasPrefix(string(got), "## Vulnerability scan of") {
			t.Error("--summary did not go to its own file alone")
		}
	})
	t.Run("no step summary passed in: the environment's is left alone", func(t *testing.T) {
		before, _ := os.ReadFile(stepSummary)
		o := options.Report{PRComment: filepath.Join(dir, "comment2.md")}
		if err := reportflags.Write(ctx, root, &o, "", scanResult(ordersImage)); err != nil {
			t.Fatal(err)
		}
		if after, _ := os.ReadFile(stepSummary); string(before) != string(after) {
			t.Error("the step summary of the environment was written to")
		}
	})
	t.Run("nothing asked", func(t *testing.T) {
		var o options.Report
		if err := reportflags.Write(ctx, envRoot(nil), &o, ""); err != nil {
			t.Errorf("Write = %v", err)
		}
	})
}

func TestStepSummary(t *testing.T) {
	if got := reportflags.StepSummary(envRoot(map[string]string{options.EnvGitHubStepSummary: "/tmp/summary.md"})); got != "/tmp/summary.md" {
		t.Errorf("StepSummary = %q", got)
	}
	for _, root := range []*options.Root{nil, {}, envRoot(nil)} {
		if got := reportflags.StepSummary(root); got != "" {
			t.Errorf("StepSummary without the variable = %q", got)
		}
	}
}

func TestWriteErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()

	t.Run("unwritable file, the others still written", func(t *testing.T) {
		o := options.Report{SARIF: filepath.Join(dir, "missing", "scan.sarif"), PRComment: filepath.Join(dir, "comment.md")}
		err := reportflags.Write(ctx, envRoot(nil), &o, "", scanResult(ordersImage))
		if outcome.Code(err) != outcome.ExitOperational || !strings.Contains(err.Error(), "--sarif") {
			t.Errorf("Write = %v, want an operational error naming --sarif", err)
		}
		if _, err := os.Stat(o.PRComment); err != nil {
			t.Errorf("the PR comment was not written: %v", err)
		}
	})
	t.Run("unwritable step summary names the variable", func(t *testing.T) {
		var o options.Report
		err := reportflags.Write(ctx, envRoot(nil), &o, filepath.Join(dir, "missing", "summary.md"), scanResult(ordersImage))
		if outcome.Code(err) != outcome.ExitOperational || !strings.Contains(err.Error(), "$"+options.EnvGitHubStepSummary) {
			t.Errorf("Write = %v, want an operational error naming $%s", err, options.EnvGitHubStepSummary)
		}
	})
	t.Run("DefectDojo refuses the key", func(t *testing.T) {
		s := fakedojo.New(t, "another key")
		o := options.Report{PRComment: filepath.Join(dir, "c2.md"), DefectDojoURL: s.URL, DefectDojoProduct: "shop", DefectDojoEngagement: "CI"}
		err := reportflags.Write(ctx, envRoot(map[string]string{options.EnvDefectDojoAPIKey: dojoKey}), &o, "", scanResult(ordersImage))
		if !errors.Is(err, defectdojo.ErrDenied) || outcome.Code(err) != outcome.ExitInvalid || !strings.Contains(err.Error(), "HTTP 403") {
			t.Errorf("Write = %v, want ErrDenied with the status", err)
		}
		if strings.Contains(err.Error(), dojoKey) {
			t.Error("the API key is in the error")
		}
		if _, err := os.Stat(o.PRComment); err != nil {
			t.Errorf("the PR comment was not written: %v", err)
		}
	})
	t.Run("unknown product", func(t *testing.T) {
		s := fakedojo.New(t, dojoKey)
		o := options.Report{DefectDojoURL: s.URL, DefectDojoAPIKey: dojoKey, DefectDojoProduct: "shop", DefectDojoEngagement: "CI"}
		err := reportflags.Write(ctx, envRoot(nil), &o, "", scanResult(ordersImage))
		if !errors.Is(err, defectdojo.ErrNotFound) || outcome.Code(err) != outcome.ExitInvalid {
			t.Errorf("Write = %v, want ErrNotFound (exit 2)", err)
		}
	})
	t.Run("too many images for SARIF", func(t *testing.T) {
		var rs []*scan.Result
		for range report.MaxSARIFRuns + 1 {
			rs = append(rs, scanResult(ordersImage))
		}
		o := options.Report{SARIF: filepath.Join(dir, "many.sarif")}
		if err := reportflags.Write(ctx, envRoot(nil), &o, "", rs...); !errors.Is(err, report.ErrTooManyImages) || outcome.Code(err) != outcome.ExitInvalid {
			t.Errorf("Write = %v, want ErrTooManyImages", err)
		}
		if _, err := os.Stat(o.SARIF); !os.IsNotExist(err) {
			t.Error("a partial SARIF file was left")
		}
	})
}

func TestCheckOutputs(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nonexistent", "x")
	for _, tt := range []struct {
		name        string
		o           options.Report
		stepSummary string
		want        string // "" for ok
	}{
		{"nothing", options.Report{}, "", ""},
		{"writable", options.Report{SARIF: filepath.Join(dir, "a.sarif"), Summary: filepath.Join(dir, "s.md"), PRComment: filepath.Join(dir, "c.md")}, missing, ""},
		{"sarif", options.Report{SARIF: missing}, "", "--sarif " + missing},
		{"summary", options.Report{Summary: missing}, "", "--summary " + missing},
		{"pr comment", options.Report{PRComment: missing}, "", "--pr-comment " + missing},
		{"step summary", options.Report{}, missing, "$" + options.EnvGitHubStepSummary + " " + missing},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := reportflags.CheckOutputs(&tt.o, tt.stepSummary)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("CheckOutputs = %v, want ok", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || outcome.Code(err) != outcome.ExitInvalid):
				t.Errorf("CheckOutputs = %v, want a usage error naming %q", err, tt.want)
			}
		})
	}
}

func TestWithVerdict(t *testing.T) {
	violation := outcome.CheckFailed("1 vulnerability ID at or above high")
	unwritable := outcome.Operationalf("--sarif: writing x.sarif: no space left on device")
	refused := outcome.Invalidf("DefectDojo refused the reimport")
	for _, tt := range []struct {
		name             string
		verdict, reports error
		code             int
		says             []string
	}{
		{"nothing", nil, nil, outcome.ExitOK, nil},
		{"verdict alone", violation, nil, outcome.ExitCheckFailed, []string{"at or above high"}},
		{"reports alone", nil, unwritable, outcome.ExitOperational, []string{"x.sarif"}},
		{"the verdict keeps its exit code", violation, unwritable, outcome.ExitCheckFailed, []string{"at or above high", "x.sarif"}},
		{"over a usage error too", violation, refused, outcome.ExitCheckFailed, []string{"at or above high", "DefectDojo"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := reportflags.WithVerdict(tt.verdict, tt.reports)
			if outcome.Code(err) != tt.code {
				t.Errorf("exit %d (%v), want %d", outcome.Code(err), err, tt.code)
			}
			for _, s := range tt.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("%q does not say %q", err, s)
				}
			}
			if tt.verdict != nil && !errors.Is(err, tt.verdict) {
				t.Error("the verdict is not reachable with errors.Is")
			}
		})
	}
}
