package report_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/report"
	"github.com/sc-project/sc/pkg/security/scan"
)

// sarifSchemaID is the $id ("id" in draft-04) of the official schema in
// testdata: registering the file under it keeps the compiler off the
// network.
const sarifSchemaID = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

func sarifSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "sarif-schema-2.1.0.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(noNetwork{})
	if err := c.AddResource(sarifSchemaID, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(sarifSchemaID)
	if err != nil {
		t.Fatalf("compiling the SARIF schema: %v", err)
	}
	return s
}

// noNetwork fails any schema the compiler would fetch.
type noNetwork struct{}

func (noNetwork) Load(u string) (any, error) { return nil, fmt.Errorf("no network in tests: %s", u) }

func writeSARIF(t *testing.T, results ...*scan.Result) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := report.WriteSARIF(&b, results, report.WithToolVersion("v1.2.3")); err != nil {
		t.Fatalf("WriteSARIF: %v", err)
	}
	return b.Bytes()
}

func TestWriteSARIF(t *testing.T) {
	schema := sarifSchema(t)
	for _, tt := range []struct {
		name    string
		results []*scan.Result
	}{
		{"orders.sarif", []*scan.Result{ordersResult()}},
		{"release.sarif", []*scan.Result{ordersResult(), cartResult()}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := writeSARIF(t, tt.results...)
			golden(t, tt.name, got)
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(got))
			if err != nil {
				t.Fatal(err)
			}
			if err := schema.Validate(doc); err != nil {
				t.Errorf("the SARIF does not validate against the SARIF 2.1.0 schema: %v", err)
			}
			checkGitHub(t, got)
		})
	}
}

// TestSARIFSchemaRejects proves the schema check can fail: a log that
// breaks the schema does not validate.
func TestSARIFSchemaRejects(t *testing.T) {
	schema := sarifSchema(t)
	good := writeSARIF(t, ordersResult())
	for _, tt := range []struct {
		name   string
		break_ func(map[string]any)
	}{
		{"wrong version", func(m map[string]any) { m["version"] = "2.0.0" }},
		{"level out of the vocabulary", func(m map[string]any) {
			run := m["runs"].([]any)[0].(map[string]any)
			run["results"].([]any)[0].(map[string]any)["level"] = "critical"
		}},
		{"start line 0", func(m map[string]any) {
			run := m["runs"].([]any)[0].(map[string]any)
			res := run["results"].([]any)[0].(map[string]any)
			res["locations"].([]any)[0].(map[string]any)["physicalLocation"].(map[string]any)["region"].(map[string]any)["startLine"] = 0
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var m map[string]any
			if err := json.Unmarshal(good, &m); err != nil {
				t.Fatal(err)
			}
			tt.break_(m)
			data, _ := json.Marshal(m)
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if schema.Validate(doc) == nil {
				t.Error("the broken log validates")
			}
		})
	}
}

// sarifLog is the part of a SARIF log that GitHub's documented
// constraints are about.
type sarifLog struct {
	Version string `json:"version"`
	Runs    []struct {
		Tool struct {
			Driver struct {
				Name  string `json:"name"`
				Rules []struct {
					ID               string `json:"id"`
					ShortDescription struct {
						Text string `json:"text"`
					} `json:"shortDescription"`
					FullDescription *struct {
						Text string `json:"text"`
					} `json:"fullDescription"`
					HelpURI    string `json:"helpUri"`
					Properties struct {
						SecuritySeverity string   `json:"security-severity"`
						Tags             []string `json:"tags"`
					} `json:"properties"`
				} `json:"rules"`
			} `json:"driver"`
			Extensions []struct {
				Name    string `json:"name"`
				Version string `json:"version"`
			} `json:"extensions"`
		} `json:"tool"`
		AutomationDetails struct {
			ID string `json:"id"`
		} `json:"automationDetails"`
		Results []struct {
			RuleID  string `json:"ruleId"`
			Level   string `json:"level"`
			Message struct {
				Text string `json:"text"`
			} `json:"message"`
			Locations []struct {
				PhysicalLocation struct {
					ArtifactLocation struct {
						URI       string `json:"uri"`
						URIBaseID string `json:"uriBaseId"`
					} `json:"artifactLocation"`
					Region struct {
						StartLine int `json:"startLine"`
					} `json:"region"`
				} `json:"physicalLocation"`
			} `json:"locations"`
			PartialFingerprints map[string]string `json:"partialFingerprints"`
			Suppressions        []struct {
				Kind          string         `json:"kind"`
				Status        string         `json:"status"`
				Justification string         `json:"justification"`
				GUID          string         `json:"guid"`
				Properties    map[string]any `json:"properties"`
			} `json:"suppressions"`
		} `json:"results"`
		Properties map[string]any `json:"properties"`
	} `json:"runs"`
}

// checkGitHub checks what GitHub code scanning documents for third-party
// SARIF: a ruleId on every result that names a rule of the driver, at most
// 20 runs with distinct tool and category, 25,000 results and rules a run,
// 100 extensions, 1,000 locations a result, 20 tags a rule, relative
// location URIs (no absolute paths, no file://), a startLine, and the
// security-severity as a number in a string.
func checkGitHub(t *testing.T, data []byte) {
	t.Helper()
	var log sarifLog
	if err := json.Unmarshal(data, &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" {
		t.Errorf("version %q", log.Version)
	}
	if n := len(log.Runs); n == 0 || n > 20 {
		t.Errorf("%d runs, GitHub takes 1 to 20", n)
	}
	categories := map[string]bool{}
	for i, run := range log.Runs {
		key := run.Tool.Driver.Name + "\x00" + run.AutomationDetails.ID
		if categories[key] {
			t.Errorf("run %d: tool %q and category %q repeat another run's", i, run.Tool.Driver.Name, run.AutomationDetails.ID)
		}
		categories[key] = true
		if !strings.HasSuffix(run.AutomationDetails.ID, "/") {
			t.Errorf("run %d: automationDetails.id %q does not end in / (category only)", i, run.AutomationDetails.ID)
		}
		if len(run.Results) > 25000 || len(run.Tool.Driver.Rules) > 25000 || len(run.Tool.Extensions) > 100 {
			t.Errorf("run %d: over GitHub's limits", i)
		}
		if run.Properties["digest"] == "" || run.Properties["digest"] == nil {
			t.Errorf("run %d: no digest in the run's properties", i)
		}
		rules := map[string]bool{}
		for _, r := range run.Tool.Driver.Rules {
			rules[r.ID] = true
			if r.ShortDescription.Text == "" || r.FullDescription == nil || r.FullDescription.Text == "" {
				t.Errorf("rule %s: no short or full description", r.ID)
			}
			if len(r.Properties.Tags) > 20 || len(r.Properties.Tags) == 0 || r.Properties.Tags[0] != "security" {
				t.Errorf("rule %s: tags %v", r.ID, r.Properties.Tags)
			}
			if s := r.Properties.SecuritySeverity; s != "" {
				if v, err := strconv.ParseFloat(s, 64); err != nil || v < 0 || v > 10 {
					t.Errorf("rule %s: security-severity %q is not a score from 0 to 10", r.ID, s)
				}
			}
		}
		for j, res := range run.Results {
			if res.RuleID == "" || !rules[res.RuleID] {
				t.Errorf("run %d result %d: ruleId %q names no rule", i, j, res.RuleID)
			}
			if res.Message.Text == "" {
				t.Errorf("run %d result %d: no message", i, j)
			}
			if len(res.Locations) == 0 || len(res.Locations) > 1000 {
				t.Errorf("run %d result %d: %d locations", i, j, len(res.Locations))
			}
			for _, l := range res.Locations {
				uri := l.PhysicalLocation.ArtifactLocation.URI
				u, err := url.Parse(uri)
				switch {
				case err != nil:
					t.Errorf("location %q: %v", uri, err)
				case u.Scheme != "" || u.Host != "" || strings.HasPrefix(uri, "/") || strings.HasPrefix(uri, "file:"):
					t.Errorf("location %q is not a relative path", uri)
				case l.PhysicalLocation.Region.StartLine < 1:
					t.Errorf("location %q: startLine %d", uri, l.PhysicalLocation.Region.StartLine)
				}
			}
			if res.PartialFingerprints["primaryLocationLineHash"] == "" {
				t.Errorf("run %d result %d: no primaryLocationLineHash", i, j)
			}
		}
	}
}

func TestSARIFContent(t *testing.T) {
	var log sarifLog
	if err := json.Unmarshal(writeSARIF(t, ordersResult(), cartResult()), &log); err != nil {
		t.Fatal(err)
	}
	orders, cart := log.Runs[0], log.Runs[1]

	if orders.Tool.Driver.Name != "sc" || len(orders.Tool.Extensions) != 2 ||
		orders.Tool.Extensions[0].Name != "grype" || orders.Tool.Extensions[1].Name != "trivy" {
		t.Errorf("tool: driver %q, extensions %+v; want sc with grype and trivy", orders.Tool.Driver.Name, orders.Tool.Extensions)
	}
	if orders.AutomationDetails.ID != "sc/registry.example/shop/orders-api/" || cart.AutomationDetails.ID != "sc/registry.example:5000/shop/cart/" {
		t.Errorf("categories %q, %q", orders.AutomationDetails.ID, cart.AutomationDetails.ID)
	}
	if orders.Properties["digest"] != ordersDigest || orders.Properties["image"] != ordersImage {
		t.Errorf("run properties %v", orders.Properties)
	}
	if ignored, _ := orders.Properties["ignored"].([]any); len(ignored) != 3 {
		t.Errorf("run properties list %d set-aside findings, want 3", len(ignored))
	}

	// one rule per vulnerability, one result per package
	var ruleIDs []string
	for _, r := range orders.Tool.Driver.Rules {
		ruleIDs = append(ruleIDs, r.ID)
	}
	wantRules := []string{"CVE-2099-0001", "CVE-2099-0002", "CVE-2099-3001", "CVE-2099-2001", "GHSA-2099-dddd-0001", "CVE-2099-0005", "CVE-2099-0006",
		"CVE-2099-1001", "CVE-2099-0004", "CVE-2099-0007"}
	if diff := cmp.Diff(wantRules, ruleIDs); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
	// the 8 counted findings, then the 3 set aside, each suppressed
	if len(orders.Results) != 11 {
		t.Fatalf("%d results, want 8 findings and 3 suppressed ones", len(orders.Results))
	}
	type suppressed struct{ rule, kind, status, justification, by string }
	var sups []suppressed
	for i, res := range orders.Results {
		if i < 8 {
			if len(res.Suppressions) != 0 {
				t.Errorf("counted finding %s is suppressed", res.RuleID)
			}
			continue
		}
		if len(res.Suppressions) != 1 {
			t.Errorf("set-aside %s has %d suppressions, want 1", res.RuleID, len(res.Suppressions))
			continue
		}
		s := res.Suppressions[0]
		by, _ := s.Properties["suppressedBy"].(string)
		sups = append(sups, suppressed{res.RuleID, s.Kind, s.Status, s.Justification, by})
		if s.GUID == "" || s.GUID == orders.Results[8].Suppressions[0].GUID && i != 8 {
			t.Errorf("%s: suppression guid %q, want one of its own", res.RuleID, s.GUID)
		}
	}
	wantSups := []suppressed{
		{"CVE-2099-1001", "external", "accepted", "VEX: not_affected: inline_mitigations_already_exist", "vex"},
		{"CVE-2099-0004", "external", "accepted", "curl is not used at run time | reviewed by @shop/security\nsee *SEC-12*", "ignore-rule"},
		{"CVE-2099-0007", "external", "accepted", "no fix available", "only-fixed"},
	}
	if diff := cmp.Diff(wantSups, sups, cmp.AllowUnexported(suppressed{})); diff != "" {
		t.Errorf("suppressions (-want +got):\n%s", diff)
	}

	type got struct{ level, sev, uri string }
	var levels []got
	for _, res := range orders.Results {
		var sev string
		for _, r := range orders.Tool.Driver.Rules {
			if r.ID == res.RuleID {
				sev = r.Properties.SecuritySeverity
			}
		}
		levels = append(levels, got{res.Level, sev, res.Locations[0].PhysicalLocation.ArtifactLocation.URI})
	}
	want := []got{
		{"error", "9.8", "var/lib/dpkg/status"},
		{"error", "9.8", "var/lib/dpkg/status"},
		{"error", "8.0", "registry.example/shop/orders-api"},
		{"error", "8.0", "app/package-lock.json"},
		{"warning", "5.5", "usr/local/bin/healthcheck"}, // CVSS 8.7 disagrees with medium
		{"note", "1.9", "app/node_modules/left%7Cpad/package.json"},
		{"note", "0.0", "registry.example/shop/orders-api"},
		{"note", "", "registry.example/shop/orders-api"},
		{"error", "8.0", "app/package-lock.json"},
		{"note", "2.0", "registry.example/shop/orders-api"},
		{"warning", "5.5", "registry.example/shop/orders-api"},
	}
	if diff := cmp.Diff(want, levels, cmp.AllowUnexported(got{})); diff != "" {
		t.Errorf("level, security-severity, first location (-want +got):\n%s", diff)
	}
	if n := len(orders.Results[0].Locations); n != 2 {
		t.Errorf("libssl3 has %d locations, want its 2 files", n)
	}

	msg := orders.Results[2].Message.Text
	for _, s := range []string{"CVE-2099-0002", "libcurl4@7.88.1-10+deb12u5", "no fix available", "VEX: under_investigation", "Assessing whether"} {
		if !strings.Contains(msg, s) {
			t.Errorf("message %q lacks %q", msg, s)
		}
	}
	if msg := orders.Results[3].Message.Text; !strings.Contains(msg, "semver@7.5.1") || !strings.Contains(msg, "fixed in 7.5.2, 6.3.1") {
		t.Errorf("message %q does not name the package and the fix", msg)
	}
	if r := orders.Tool.Driver.Rules[2]; r.HelpURI != "https://avd.aquasec.com/nvd/cve-2099-3001" {
		t.Errorf("helpUri %q, want the data source", r.HelpURI)
	}
	if len(cart.Results) != 0 || len(cart.Tool.Driver.Rules) != 0 {
		t.Errorf("the passing image has results or rules")
	}
}

func TestSARIFFingerprints(t *testing.T) {
	fingerprints := func(r *scan.Result) []string {
		var log sarifLog
		if err := json.Unmarshal(writeSARIF(t, r), &log); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, res := range log.Runs[0].Results {
			if res.PartialFingerprints["primaryLocationLineHash"] != res.PartialFingerprints[report.FingerprintKey] {
				t.Errorf("the two fingerprints differ: %v", res.PartialFingerprints)
			}
			out = append(out, res.PartialFingerprints[report.FingerprintKey])
		}
		return out
	}
	base := fingerprints(ordersResult())
	seen := map[string]bool{}
	for _, f := range base {
		if seen[f] {
			t.Errorf("fingerprint %s repeats within a run", f)
		}
		seen[f] = true
	}

	rebuilt := ordersResult()
	rebuilt.Image = "registry.example/shop/orders-api@sha256:2222222222222222222222222222222222222222222222222222222222222222"
	rebuilt.Digest = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	rebuilt.ScannedAt = rebuilt.ScannedAt.AddDate(0, 0, 1)
	if diff := cmp.Diff(base, fingerprints(rebuilt)); diff != "" {
		t.Errorf("a new build of the image changed the fingerprints:\n%s", diff)
	}

	upgraded := ordersResult()
	upgraded.Matches[3].Package.Version = "7.5.1-1"
	if got := fingerprints(upgraded); got[3] == base[3] {
		t.Error("another package version kept the fingerprint")
	}
	other := ordersResult()
	other.Image = "registry.example/shop/payments@" + ordersDigest
	if got := fingerprints(other); got[0] == base[0] {
		t.Error("another repository kept the fingerprint")
	}
}

func TestSARIFCategories(t *testing.T) {
	a, b := ordersResult(), ordersResult()
	b.Image = "registry.example/shop/orders-api@sha256:2222222222222222222222222222222222222222222222222222222222222222"
	b.Digest = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	c := ordersResult() // the same image twice
	var log sarifLog
	if err := json.Unmarshal(writeSARIF(t, a, b, c), &log); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range log.Runs {
		got = append(got, r.AutomationDetails.ID)
	}
	want := []string{
		"sc/registry.example/shop/orders-api/",
		"sc/registry.example/shop/orders-api@222222222222/",
		"sc/registry.example/shop/orders-api@749ba80b11e6/",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("categories (-want +got):\n%s", diff)
	}
}

func TestSARIFLocations(t *testing.T) {
	for _, tt := range []struct {
		name      string
		image     string
		locations []string
		want      []string
	}{
		{"absolute path", ordersImage, []string{"/var/lib/dpkg/status"}, []string{"var/lib/dpkg/status"}},
		{"relative path", ordersImage, []string{"app/package-lock.json"}, []string{"app/package-lock.json"}},
		{"file URL", ordersImage, []string{"file:///usr/bin/tool"}, []string{"usr/bin/tool"}},
		{"duplicates", ordersImage, []string{"/a", "a", "/b"}, []string{"a", "b"}},
		{"characters to escape", ordersImage, []string{"/app/my dir/#1?.json"}, []string{"app/my%20dir/%231%3F.json"}},
		{"none: the repository", ordersImage, nil, []string{"registry.example/shop/orders-api"}},
		{"none, registry port", cartImage, []string{"/"}, []string{"registry.example%3A5000/shop/cart"}},
		{"none, port and no path", "localhost:5000@sha256:11", nil, []string{"localhost%3A5000"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := ordersResult()
			r.Image = tt.image
			r.Matches = r.Matches[:1]
			r.Matches[0].Package.Locations = tt.locations
			var log sarifLog
			if err := json.Unmarshal(writeSARIF(t, r), &log); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range log.Runs[0].Results[0].Locations {
				got = append(got, l.PhysicalLocation.ArtifactLocation.URI)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("URIs (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("at most 100", func(t *testing.T) {
		r := ordersResult()
		r.Matches = r.Matches[:1]
		r.Matches[0].Package.Locations = nil
		for i := range 150 {
			r.Matches[0].Package.Locations = append(r.Matches[0].Package.Locations, fmt.Sprintf("/bin/tool%d", i))
		}
		data := writeSARIF(t, r)
		var log sarifLog
		if err := json.Unmarshal(data, &log); err != nil {
			t.Fatal(err)
		}
		if n := len(log.Runs[0].Results[0].Locations); n != 100 {
			t.Errorf("%d locations, want 100", n)
		}
		if !strings.Contains(string(data), `"locationsOmitted": 50`) {
			t.Error("the result does not say 50 locations were left out")
		}
	})
}

func TestSARIFErrors(t *testing.T) {
	var many []*scan.Result
	for i := range report.MaxSARIFRuns + 1 {
		r := cartResult()
		r.Image = fmt.Sprintf("registry.example/shop/svc%d@%s", i, cartDigest)
		many = append(many, r)
	}
	for _, tt := range []struct {
		name    string
		results []*scan.Result
		want    error
	}{
		{"no results", nil, report.ErrNoResults},
		{"nil result", []*scan.Result{ordersResult(), nil}, report.ErrNoResults},
		{"21 images", many, report.ErrTooManyImages},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			err := report.WriteSARIF(&b, tt.results)
			if !errors.Is(err, tt.want) || outcome.Code(err) != outcome.ExitInvalid {
				t.Errorf("WriteSARIF = %v, want %v (exit 2)", err, tt.want)
			}
			if b.Len() != 0 {
				t.Errorf("wrote %d bytes on error", b.Len())
			}
		})
	}
	if err := report.WriteSARIF(&bytes.Buffer{}, many[:report.MaxSARIFRuns]); err != nil {
		t.Errorf("WriteSARIF of %d images: %v", report.MaxSARIFRuns, err)
	}
}

func TestRepository(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{ordersImage, "registry.example/shop/orders-api"},
		{cartImage, "registry.example:5000/shop/cart"},
		{"registry.example:5000/shop/cart:1.2", "registry.example:5000/shop/cart"},
		{"registry.example:5000/shop/cart", "registry.example:5000/shop/cart"},
		{"alpine", "alpine"},
	} {
		if got := report.Repository(tt.in); got != tt.want {
			t.Errorf("Repository(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
