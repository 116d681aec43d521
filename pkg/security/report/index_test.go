package report_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/sc-project/sc/pkg/security/report"
	"github.com/sc-project/sc/pkg/security/scan"
)

// indexResults are the scans of two platform images of one index: the
// fixture's findings in both, and linux/amd64 alone with its first one.
func indexResults() []*scan.Result {
	amd, arm := ordersResult(), ordersResult()
	amd.Platform = "linux/amd64"
	arm.Platform = "linux/arm64"
	arm.Image = "registry.example/shop/orders-api@sha256:3333333333333333333333333333333333333333333333333333333333333333"
	arm.Digest = "sha256:3333333333333333333333333333333333333333333333333333333333333333"
	arm.Matches = arm.Matches[1:]
	return []*scan.Result{amd, arm}
}

// The summary of an index shows each platform, and the findings all of
// them have once, before the platforms.
func TestSummaryOfAnIndex(t *testing.T) {
	rs := indexResults()
	var b bytes.Buffer
	if err := report.WriteSummary(&b, rs); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	checkTables(t, md)
	shared := len(rs[1].Matches)
	for _, want := range []string{
		"| `registry.example/shop/orders-api linux/amd64` | FAIL |",
		"| `registry.example/shop/orders-api linux/arm64` | FAIL |",
		"### `registry.example/shop/orders-api`: " + fmt.Sprintf("%d findings", shared) + " shared by all 2 platforms",
		"### `registry.example/shop/orders-api linux/amd64`: FAIL",
		"Besides the " + fmt.Sprintf("%d findings", shared) + " all platforms share, listed above:",
		"None beyond those all platforms share, listed above.",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("summary lacks %q:\n%s", want, md)
		}
	}
	// the finding linux/amd64 alone has is listed once, in its section;
	// a shared one once, in the shared section
	for _, m := range []scan.Match{rs[0].Matches[0], rs[1].Matches[0]} {
		row := "| " + idLink(t, md, m.ID) + " | `" + m.Package.Name + "` | `" + m.Package.Version + "` |"
		if n := strings.Count(md, row); n != 1 {
			t.Errorf("%s in %s listed %d times, want once", m.ID, m.Package.Name, n)
		}
	}

	// two images that are not platforms of one index share nothing
	b.Reset()
	if err := report.WriteSummary(&b, []*scan.Result{ordersResult(), ordersResult()}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "shared by all") {
		t.Errorf("images that are not one index's platforms got a shared section:\n%s", b.String())
	}
}

// idLink returns how the findings table writes id's cell: the ID, linked
// or not.
func idLink(t *testing.T, md, id string) string {
	t.Helper()
	i := strings.Index(md, "| ["+id+"]")
	if i < 0 {
		i = strings.Index(md, "| "+id)
	}
	if i < 0 {
		t.Fatalf("%s is not in the summary", id)
	}
	cell := md[i+2:]
	return cell[:strings.Index(cell, " |")]
}

// The SARIF of an index has a run per platform, each its own analysis;
// its results and locations name the platform, and one finding in two
// platforms is two alerts. It validates against the SARIF schema.
func TestSARIFOfAnIndex(t *testing.T) {
	rs := indexResults()
	data := writeSARIF(t, rs...)
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := sarifSchema(t).Validate(doc); err != nil {
		t.Errorf("the SARIF does not validate: %v", err)
	}
	checkGitHub(t, data)
	var log struct {
		Runs []struct {
			AutomationDetails struct {
				ID string `json:"id"`
			} `json:"automationDetails"`
			Properties map[string]any `json:"properties"`
			Results    []struct {
				Message struct {
					Text string `json:"text"`
				} `json:"message"`
				Locations []struct {
					Message struct {
						Text string `json:"text"`
					} `json:"message"`
				} `json:"locations"`
				PartialFingerprints map[string]string `json:"partialFingerprints"`
				Properties          map[string]any    `json:"properties"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(data, &log); err != nil {
		t.Fatal(err)
	}
	var categories []string
	for i, run := range log.Runs {
		categories = append(categories, run.AutomationDetails.ID)
		p := rs[i].Platform
		if run.Properties["platform"] != p {
			t.Errorf("run %d: platform property %v, want %s", i, run.Properties["platform"], p)
		}
		for _, res := range run.Results {
			if !strings.HasSuffix(res.Message.Text, "Platform "+p+".") || res.Properties["platform"] != p ||
				len(res.Locations) == 0 || res.Locations[0].Message.Text != "in the "+p+" image" {
				t.Errorf("run %d: result %+v does not name %s", i, res, p)
			}
		}
	}
	want := []string{"sc/registry.example/shop/orders-api/linux/amd64/", "sc/registry.example/shop/orders-api/linux/arm64/"}
	if diff := cmp.Diff(want, categories); diff != "" {
		t.Errorf("categories (-want +got):\n%s", diff)
	}
	// linux/arm64's first result is linux/amd64's second: the same finding
	if a, b := log.Runs[0].Results[1].PartialFingerprints[report.FingerprintKey], log.Runs[1].Results[0].PartialFingerprints[report.FingerprintKey]; a == b {
		t.Errorf("one finding in two platforms has one fingerprint %s", a)
	}
}
