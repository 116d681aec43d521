package defectdojo_test

import (
	"context"
	"fmt"
	"os"

	"github.com/sc-project/sc/pkg/security/report"
	"github.com/sc-project/sc/pkg/security/report/defectdojo"
	"github.com/sc-project/sc/pkg/security/scan"
)

// Reimport the results of a release, one test per image, closing the
// findings that the new images no longer have.
func ExampleUpload() {
	ctx := context.Background()
	var results []*scan.Result // from scan.Run, one per image

	c, err := defectdojo.New("https://defectdojo.example", os.Getenv("SC_DEFECTDOJO_API_KEY"))
	if err != nil {
		fmt.Println(err)
		return
	}
	target := defectdojo.Target{Product: "shop", Engagement: "CI", CloseOldFindings: true}
	imported, err := defectdojo.Upload(ctx, c, target, results, report.WithToolVersion("v1.0.0"))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range imported {
		d := r.Statistics.Delta
		if d == nil {
			fmt.Printf("%s: new test %d\n", r.TestTitle, r.TestID)
			continue
		}
		fmt.Printf("%s: %d new, %d closed\n", r.TestTitle, d.Created.Total.Total, d.Closed.Total.Total)
	}
}
