package policy

import (
	"testing"

	"github.com/sc-project/sc/pkg/api"
)

// The severity a derived policy allows is what the scan block lets
// through: below the most lenient threshold, no limit with softFail or a
// threshold that fails on nothing.
func TestReleasedSeverity(t *testing.T) {
	yes := true
	for _, tt := range []struct {
		name string
		scan *api.Scan
		want api.Severity
	}{
		{"default", nil, api.SeverityMedium},
		{"failOn critical", &api.Scan{FailOn: api.SeverityCritical}, api.SeverityHigh},
		{"a scanner more lenient than the block", &api.Scan{FailOn: api.SeverityHigh, Tools: []api.Tool{{Name: "grype"}, {Name: "trivy", FailOn: api.SeverityCritical}}}, api.SeverityHigh},
		{"a scanner stricter than the block", &api.Scan{FailOn: api.SeverityHigh, Tools: []api.Tool{{Name: "trivy", FailOn: api.SeverityLow}}}, api.SeverityMedium},
		{"softFail signs violations too", &api.Scan{FailOn: api.SeverityLow, SoftFail: &yes}, ""},
		{"failOn unknown allows no finding", &api.Scan{FailOn: api.SeverityUnknown}, api.MaxSeverityNone},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := releasedSeverity(tt.scan); got != tt.want {
				t.Errorf("releasedSeverity = %q, want %q", got, tt.want)
			}
		})
	}
}
