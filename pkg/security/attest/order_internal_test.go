package attest

import (
	"testing"
	"time"

	"github.com/sc-project/sc/pkg/security/signing"
)

// The unsigned creation annotation orders nothing: a referrer that claims
// to be from 2099 is not "newest" for that; a verified signing time is.
func TestResultOrderIgnoresUnsignedCreated(t *testing.T) {
	at := func(s string) *time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return &v
	}
	r := &run{res: &Result{}, found: []found{
		{att: Attestation{Verified: signing.Verified{Artifact: "stored-first"}, Created: at("2099-01-01T00:00:00Z")}, seq: 0},
		{att: Attestation{Verified: signing.Verified{Artifact: "stored-last"}, Created: at("2001-01-01T00:00:00Z")}, seq: 1},
		{att: Attestation{Verified: signing.Verified{Artifact: "logged", SignedAt: at("2020-01-01T00:00:00Z")}}, seq: 2},
	}}
	res := r.result()
	var got []string
	for _, a := range res.Verified {
		got = append(got, a.Artifact)
	}
	want := []string{"logged", "stored-last", "stored-first"}
	for i := range want {
		if i >= len(got) || got[i] != want[i] {
			t.Fatalf("order %v, want %v", got, want)
		}
	}
	if n := res.Undated(); n != 2 {
		t.Errorf("Undated = %d, want 2", n)
	}
}
