package vulndb_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	tv "github.com/sc-project/sc/internal/testutil/vulndb"
)

func TestSyntheticIsDeterministic(t *testing.T) {
	a, b := tv.Synthetic(2000), tv.Synthetic(2000)
	if len(a) != 2000 {
		t.Fatalf("got %d records, want 2000", len(a))
	}
	if diff := cmp.Diff(a, b); diff != "" {
		t.Fatalf("two calls differ (-first +second):\n%s", diff)
	}
}

func TestSyntheticShape(t *testing.T) {
	recs := tv.Synthetic(30_000)
	ids := map[string]bool{}
	perEco := map[string]int{}
	perName := map[string]int{}
	for _, a := range recs {
		if ids[a.ID] {
			t.Fatalf("ID %s twice", a.ID)
		}
		ids[a.ID] = true
		if len(a.Affected) != 1 {
			t.Fatalf("%s: %d affected packages, want 1", a.ID, len(a.Affected))
		}
		af := a.Affected[0]
		perEco[af.Ecosystem]++
		perName[af.Ecosystem+"/"+af.Name]++
		if af.Fix != "" && af.Constraint == "" {
			t.Errorf("%s: fixed in %s but affects every version", a.ID, af.Fix)
		}
		if af.Ecosystem == "deb" && (af.OS == nil || af.OS.MajorVersion != "12") {
			t.Errorf("%s: Debian record without Debian 12", a.ID)
		}
	}
	for eco, lo := range map[string]int{"deb": 16_000, "npm": 6_000, "go-module": 3_500} {
		if perEco[eco] < lo {
			t.Errorf("%d %s records, want at least %d (%v)", perEco[eco], eco, lo, perEco)
		}
	}
	// skewed: some packages carry many records, as real ones do
	most := 0
	for _, n := range perName {
		most = max(most, n)
	}
	if most < 100 {
		t.Errorf("the most common package has %d records, want a skew of at least 100", most)
	}
}

// syntheticDigest pins the records Synthetic makes. The benchmarks keep the
// database they build from them between runs under a name with a version
// (benchDBVersion in pkg/security/scan/vulndb/bench_test.go): when this
// digest changes, change that version too.
const syntheticDigest = "61bd124e58ecd9b7efcc81a62a9385cf5ef96542f8c78312080e63bf0418e24c"

func TestSyntheticIsPinned(t *testing.T) {
	b, err := json.Marshal(tv.Synthetic(5000))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != syntheticDigest {
		t.Errorf("Synthetic's records changed: digest %s, was %s; bump benchDBVersion (see syntheticDigest)", got, syntheticDigest)
	}
}
