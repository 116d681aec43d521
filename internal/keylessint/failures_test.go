package keylessint

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sc-project/sc/internal/testutil/sigstorelocal"
	"github.com/sc-project/sc/internal/testutil/sigstoretest"
	"github.com/sc-project/sc/pkg/outcome"
)

// testFailures are the failures the real services produce: a token Fulcio
// refuses (expired, or from an issuer it does not trust), an entry of a log
// the verifier does not trust, and Rekor down. Signing fails with an
// operational error and writes nothing; verification fails the check.
func testFailures(t *testing.T, e *env) {
	stranger := sigstoretest.New(t) // an issuer Fulcio does not know
	for _, c := range []struct {
		name, token, want string
		code              int
	}{
		// sc reads the expiry itself and does not send the token: a usage
		// error, before any service is asked
		{"expired token", e.ss.Token(identity, sigstoretest.WithExpiry(time.Now().Add(-time.Hour))), "expired", outcome.ExitInvalid},
		// the real Fulcio refuses these with one opaque message (400, "There
		// was an error processing the identity token"), whatever the reason
		{"issuer Fulcio does not trust", stranger.Token(identity), "identity token", outcome.ExitOperational},
		{"audience Fulcio does not accept", e.ss.Token(identity, sigstoretest.WithAudience("not-sigstore")), "identity token", outcome.ExitOperational},
	} {
		t.Run(c.name, func(t *testing.T) {
			ref := e.pushImage(t, "refused:"+strings.ReplaceAll(c.name, " ", "-"))
			_, _, err := runSC(t, map[string]string{"SIGSTORE_ID_TOKEN": c.token},
				append([]string{"image", "sign", ref.String(), "--trusted-root", e.trustedRoot}, e.signFlags()...)...)
			if code := outcome.Code(err); code != c.code || !strings.Contains(strings.ToLower(err.Error()), c.want) {
				t.Fatalf("sign: exit %d (%v), want %d naming %q", code, err, c.code, c.want)
			}
			nothingWritten(t, ref)
		})
	}

	t.Run("entry of another log", func(t *testing.T) {
		ref := e.pushImage(t, "other-log:v1")
		if out, _, err := runSC(t, map[string]string{"SIGSTORE_ID_TOKEN": e.ss.Token(identity)},
			append([]string{"image", "sign", ref.String(), "--trusted-root", e.trustedRoot}, e.signFlags()...)...); err != nil {
			t.Fatalf("sign: %v\n%s", err, out)
		}
		// this Fulcio, CT log and TSA, but another Rekor
		var ours, theirs map[string]json.RawMessage
		if err := json.Unmarshal(e.ss.TrustedRootJSON(), &ours); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(stranger.TrustedRootJSON(), &theirs); err != nil {
			t.Fatal(err)
		}
		ours["tlogs"] = theirs["tlogs"]
		b, err := json.Marshal(ours)
		if err != nil {
			t.Fatal(err)
		}
		other := filepath.Join(t.TempDir(), "other-rekor.json")
		if err := os.WriteFile(other, b, 0o600); err != nil {
			t.Fatal(err)
		}
		verify := func(root string) error {
			_, _, err := runSC(t, nil, "image", "verify", ref.String(), "--certificate-identity", identity,
				"--certificate-oidc-issuer", e.ss.OIDCIssuerURL, "--trusted-root", root)
			return err
		}
		if err := verify(e.trustedRoot); err != nil {
			t.Fatalf("verify with the services' root: %v", err)
		}
		if err := verify(other); outcome.Code(err) != outcome.ExitCheckFailed {
			t.Fatalf("verify trusting another Rekor: exit %d (%v), want %d", outcome.Code(err), err, outcome.ExitCheckFailed)
		}
	})

	t.Run("Rekor down", func(t *testing.T) {
		ref := e.pushImage(t, "rekor-down:v1")
		e.ss.Stop(sigstorelocal.Rekor)
		_, _, err := runSC(t, map[string]string{"SIGSTORE_ID_TOKEN": e.ss.Token(identity)},
			append([]string{"image", "sign", ref.String(), "--trusted-root", e.trustedRoot}, e.signFlags()...)...)
		if code := outcome.Code(err); code != outcome.ExitOperational {
			t.Fatalf("sign with Rekor down: exit %d (%v), want %d", code, err, outcome.ExitOperational)
		}
		nothingWritten(t, ref)
	})
}

// nothingWritten checks that the repository of ref holds no signature of
// either format: no sha256-….sig tag and no referrer.
func nothingWritten(t *testing.T, ref name.Digest) {
	t.Helper()
	tags, err := remote.List(ref.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range tags {
		if strings.HasPrefix(tag, "sha256-") {
			t.Errorf("a failed sign left tag %s", tag)
		}
	}
	idx, err := remote.Referrers(ref)
	if err != nil {
		t.Fatal(err)
	}
	if m, err := idx.IndexManifest(); err != nil || len(m.Manifests) != 0 {
		t.Errorf("a failed sign left referrers: %v %v", m, err)
	}
}
