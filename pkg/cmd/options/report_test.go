package options_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"

	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
)

func TestReportFlags(t *testing.T) {
	var o options.Report
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	o.AddFlags(fs)
	err := fs.Parse([]string{
		"--sarif", "a.sarif", "--summary", "s.md", "--pr-comment", "c.md",
		"--defectdojo-url", "https://dojo.example", "--defectdojo-api-key", "k",
		"--defectdojo-product", "shop", "--defectdojo-product-type", "Web", "--defectdojo-engagement", "7",
		"--defectdojo-auto-create", "--defectdojo-close-old-findings", "--defectdojo-allow-insecure-http",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := options.Report{
		SARIF: "a.sarif", Summary: "s.md", PRComment: "c.md",
		DefectDojoURL: "https://dojo.example", DefectDojoAPIKey: "k", DefectDojoProduct: "shop",
		DefectDojoProductType: "Web", DefectDojoEngagement: "7", DefectDojoAutoCreate: true,
		DefectDojoCloseOldFindings: true, DefectDojoInsecureHTTP: true,
	}
	if diff := cmp.Diff(want, o); diff != "" {
		t.Errorf("parsed (-want +got):\n%s", diff)
	}
	if f := fs.Lookup("defectdojo-api-key"); f.DefValue != "" || !strings.Contains(f.Usage, options.EnvDefectDojoAPIKey) {
		t.Errorf("--defectdojo-api-key: default %q, usage %q", f.DefValue, f.Usage)
	}
}

// Validate checks the flags alone: the API key and the URL are the
// command's to check, with the client it builds (reportflags).
func TestReportValidate(t *testing.T) {
	dojo := func(o options.Report) options.Report {
		o.DefectDojoURL = "https://dojo.example"
		return o
	}
	for _, tt := range []struct {
		name string
		o    options.Report
		want string // "" for valid
	}{
		{"nothing", options.Report{}, ""},
		{"files", options.Report{SARIF: "a", Summary: "b", PRComment: "c"}, ""},
		{"same file twice", options.Report{SARIF: "out", PRComment: "./out"}, "name the same file"},
		{"summary and comment in one file", options.Report{Summary: "s.md", PRComment: "s.md"}, "--pr-comment and --summary name the same file"},
		{"product without URL", options.Report{DefectDojoProduct: "shop"}, "--defectdojo-product needs --defectdojo-url"},
		{"auto-create without URL", options.Report{DefectDojoAutoCreate: true}, "--defectdojo-auto-create needs --defectdojo-url"},
		{"key without URL", options.Report{DefectDojoAPIKey: "k"}, "--defectdojo-api-key needs --defectdojo-url"},
		{"insecure HTTP without URL", options.Report{DefectDojoInsecureHTTP: true}, "--defectdojo-allow-insecure-http needs --defectdojo-url"},
		{"names", dojo(options.Report{DefectDojoProduct: "shop", DefectDojoEngagement: "CI"}), ""},
		{"IDs", dojo(options.Report{DefectDojoProduct: "1", DefectDojoEngagement: "2"}), ""},
		{"engagement ID alone", dojo(options.Report{DefectDojoEngagement: "2"}), ""},
		{"engagement name alone", dojo(options.Report{DefectDojoEngagement: "CI"}), "--defectdojo-product"},
		{"no product", dojo(options.Report{}), "--defectdojo-product"},
		{"no engagement", dojo(options.Report{DefectDojoProduct: "shop"}), "--defectdojo-engagement"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.o
			err := tt.o.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate = %v, want ok", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || outcome.Code(err) != outcome.ExitInvalid):
				t.Errorf("Validate = %v, want a usage error about %q", err, tt.want)
			}
			if diff := cmp.Diff(before, tt.o); diff != "" {
				t.Errorf("Validate changed the flags:\n%s", diff)
			}
		})
	}
}

func TestReportNameOrID(t *testing.T) {
	for _, tt := range []struct {
		flag string
		name string
		id   int
	}{
		{"", "", 0},
		{"shop", "shop", 0},
		{"42", "", 42},
		{"0042", "", 42},
		{"0", "0", 0},
		{"-3", "-3", 0},
		{"42 shop", "42 shop", 0},
		{"99999999999999999999", "99999999999999999999", 0},
	} {
		o := options.Report{DefectDojoProduct: tt.flag, DefectDojoEngagement: tt.flag}
		if name, id := o.Product(); name != tt.name || id != tt.id {
			t.Errorf("Product of %q = %q, %d; want %q, %d", tt.flag, name, id, tt.name, tt.id)
		}
		if name, id := o.Engagement(); name != tt.name || id != tt.id {
			t.Errorf("Engagement of %q = %q, %d; want %q, %d", tt.flag, name, id, tt.name, tt.id)
		}
	}
}
