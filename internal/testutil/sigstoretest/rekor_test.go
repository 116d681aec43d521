package sigstoretest_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/rekor/pkg/client"
	genclient "github.com/sigstore/rekor/pkg/generated/client"
	"github.com/sigstore/rekor/pkg/generated/client/entries"
	"github.com/sigstore/rekor/pkg/generated/client/pubkey"
	"github.com/sigstore/rekor/pkg/generated/client/tlog"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/rekor/pkg/pki"
	"github.com/sigstore/rekor/pkg/types"
	"github.com/sigstore/rekor/pkg/types/hashedrekord"
	"github.com/sigstore/rekor/pkg/util"
	rekorverify "github.com/sigstore/rekor/pkg/verify"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/sc-project/sc/internal/testutil/sigstoretest"
)

// rekorClient is rekor's own generated client for s's Rekor.
func rekorClient(t *testing.T, s *sigstoretest.Sigstore) *genclient.Rekor {
	t.Helper()
	c, err := client.GetRekorClient(s.RekorURL)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// logVerifier verifies signatures by s's Rekor key, taken from the trusted
// root.
func logVerifier(t *testing.T, s *sigstoretest.Sigstore) signature.Verifier {
	t.Helper()
	for _, l := range s.TrustedRoot().RekorLogs() {
		v, err := signature.LoadVerifier(l.PublicKey, crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	t.Fatal("trusted root has no Rekor log")
	return nil
}

// signedArtifact is a key-signed artifact and the hashedrekord entry that
// records it.
type signedArtifact struct {
	digest [sha256.Size]byte
	sig    []byte
	pubPEM []byte
	entry  models.ProposedEntry
}

func hashedRekord(t *testing.T, key *ecdsa.PrivateKey, artifact []byte) signedArtifact {
	t.Helper()
	digest := sha256.Sum256(artifact)
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, err := cryptoutils.MarshalPublicKeyToPEM(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	return signedArtifact{digest: digest, sig: sig, pubPEM: pubPEM, entry: proposeHashedRekord(t, pubPEM, sig, digest)}
}

func proposeHashedRekord(t *testing.T, pubPEM, sig []byte, digest [sha256.Size]byte) models.ProposedEntry {
	t.Helper()
	pe, err := hashedrekord.New().CreateProposedEntry(t.Context(), "", types.ArtifactProperties{
		PublicKeyBytes: [][]byte{pubPEM},
		PKIFormat:      string(pki.X509),
		SignatureBytes: sig,
		ArtifactHash:   "sha256:" + hex.EncodeToString(digest[:]),
	})
	if err != nil {
		t.Fatal(err)
	}
	return pe
}

func createEntry(t *testing.T, c *genclient.Rekor, pe models.ProposedEntry) (*entries.CreateLogEntryCreated, error) {
	t.Helper()
	return c.Entries.CreateLogEntry(entries.NewCreateLogEntryParamsWithContext(t.Context()).WithProposedEntry(pe))
}

// only returns the single entry of a LogEntry map.
func only(t *testing.T, e models.LogEntry) (string, models.LogEntryAnon) {
	t.Helper()
	if len(e) != 1 {
		t.Fatalf("got %d entries, want 1", len(e))
	}
	for id, anon := range e {
		return id, anon
	}
	panic("unreachable")
}

func TestRekorLogGrowsVerifiably(t *testing.T) {
	s := sigstoretest.New(t)
	c := rekorClient(t, s)
	v := logVerifier(t, s)
	key := newKey(t)

	const n = 5
	var ids []string
	var artifacts []signedArtifact
	var firstCheckpoint util.SignedCheckpoint
	for i := range n {
		a := hashedRekord(t, key, []byte{byte(i)})
		artifacts = append(artifacts, a)
		resp, err := createEntry(t, c, a.entry)
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		id, anon := only(t, resp.Payload)
		if id != resp.ETag || path.Base(resp.Location.String()) != id {
			t.Errorf("entry %d: ETag %q and Location %q do not name entry %q", i, resp.ETag, resp.Location, id)
		}
		if *anon.LogIndex != int64(i) || *anon.Verification.InclusionProof.TreeSize != int64(i+1) {
			t.Errorf("entry %d: logIndex %d in a tree of %d", i, *anon.LogIndex, *anon.Verification.InclusionProof.TreeSize)
		}
		// Inclusion proof, checkpoint signature and SET, as rekor's
		// verifier checks them.
		if err := rekorverify.VerifyLogEntry(t.Context(), &anon, v); err != nil {
			t.Fatalf("entry %d does not verify: %v", i, err)
		}
		if i == 0 {
			if err := firstCheckpoint.UnmarshalText([]byte(*anon.Verification.InclusionProof.Checkpoint)); err != nil {
				t.Fatal(err)
			}
		}
		ids = append(ids, id)
	}

	// An early entry fetched now proves inclusion in the grown tree.
	got, err := c.Entries.GetLogEntryByUUID(entries.NewGetLogEntryByUUIDParamsWithContext(t.Context()).WithEntryUUID(ids[0]))
	if err != nil {
		t.Fatal(err)
	}
	_, anon := only(t, got.Payload)
	if *anon.Verification.InclusionProof.TreeSize != n {
		t.Errorf("tree size %d, want %d", *anon.Verification.InclusionProof.TreeSize, n)
	}
	if err := rekorverify.VerifyLogEntry(t.Context(), &anon, v); err != nil {
		t.Fatalf("refetched entry does not verify: %v", err)
	}

	// The log's current checkpoint is consistent with the first one.
	sth, err := rekorverify.VerifyCurrentCheckpoint(t.Context(), c, v, &firstCheckpoint)
	if err != nil {
		t.Fatalf("consistency with the first checkpoint: %v", err)
	}
	if sth.Size != n || hex.EncodeToString(sth.Hash) != *anon.Verification.InclusionProof.RootHash {
		t.Errorf("log info: size %d root %x, want size %d root %s", sth.Size, sth.Hash, n, *anon.Verification.InclusionProof.RootHash)
	}

	t.Run("by index", func(t *testing.T) {
		got, err := c.Entries.GetLogEntryByIndex(entries.NewGetLogEntryByIndexParamsWithContext(t.Context()).WithLogIndex(3))
		if err != nil {
			t.Fatal(err)
		}
		if id, _ := only(t, got.Payload); id != ids[3] {
			t.Errorf("entry at index 3 is %s, want %s", id, ids[3])
		}
	})
	t.Run("retrieve", func(t *testing.T) {
		q := &models.SearchLogQuery{
			EntryUUIDs: []string{ids[1][16:], "ab" + ids[0][18:]}, // a bare UUID, and one not in the log
			LogIndexes: []*int64{ptr(int64(2))},
		}
		q.SetEntries([]models.ProposedEntry{artifacts[4].entry})
		got, err := c.Entries.SearchLogQuery(entries.NewSearchLogQueryParamsWithContext(t.Context()).WithEntry(q))
		if err != nil {
			t.Fatal(err)
		}
		var found []string
		for _, e := range got.Payload {
			id, _ := only(t, e)
			found = append(found, id)
		}
		want := []string{ids[1], ids[2], ids[4]}
		slices.Sort(want)
		slices.Sort(found)
		if diff := cmp.Diff(want, found); diff != "" {
			t.Errorf("retrieved entries (-want +got):\n%s", diff)
		}
	})
	t.Run("unknown UUID", func(t *testing.T) {
		_, err := c.Entries.GetLogEntryByUUID(entries.NewGetLogEntryByUUIDParamsWithContext(t.Context()).WithEntryUUID("ab" + ids[0][18:]))
		var notFound *entries.GetLogEntryByUUIDNotFound
		if !errors.As(err, &notFound) {
			t.Fatalf("GetLogEntryByUUID() error = %v, want 404", err)
		}
	})
	t.Run("public key", func(t *testing.T) {
		got, err := c.Pubkey.GetPublicKey(pubkey.NewGetPublicKeyParamsWithContext(t.Context()))
		if err != nil {
			t.Fatal(err)
		}
		pub, err := cryptoutils.UnmarshalPEMToPublicKey([]byte(got.Payload))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range s.TrustedRoot().RekorLogs() {
			if !l.PublicKey.(*ecdsa.PublicKey).Equal(pub) {
				t.Error("served public key is not the trusted root's Rekor key")
			}
		}
	})
	t.Run("consistency proof bounds", func(t *testing.T) {
		_, err := c.Tlog.GetLogProof(tlog.NewGetLogProofParamsWithContext(t.Context()).WithFirstSize(ptr(int64(1))).WithLastSize(n + 1))
		var bad *tlog.GetLogProofBadRequest
		if !errors.As(err, &bad) {
			t.Fatalf("GetLogProof(lastSize beyond the tree) error = %v, want 400", err)
		}
	})
}

func TestRekorRejects(t *testing.T) {
	s := sigstoretest.New(t)
	c := rekorClient(t, s)
	key := newKey(t)

	t.Run("duplicate entry", func(t *testing.T) {
		a := hashedRekord(t, key, []byte("twice"))
		first, err := createEntry(t, c, a.entry)
		if err != nil {
			t.Fatal(err)
		}
		_, err = createEntry(t, c, a.entry)
		var conflict *entries.CreateLogEntryConflict
		if !errors.As(err, &conflict) {
			t.Fatalf("second CreateLogEntry() error = %v, want 409 Conflict", err)
		}
		if path.Base(conflict.Location.String()) != first.ETag || conflict.Payload.Code != 409 {
			t.Errorf("conflict: Location %q code %d, want the first entry %q and 409", conflict.Location, conflict.Payload.Code, first.ETag)
		}
	})
	t.Run("signature does not match the key", func(t *testing.T) {
		a := hashedRekord(t, key, []byte("artifact"))
		forged := hashedRekord(t, newKey(t), []byte("artifact"))
		// Built by hand: rekor's own constructor refuses to propose it.
		pe := &models.Hashedrekord{
			APIVersion: ptr("0.0.1"),
			Spec: models.HashedrekordV001Schema{
				Data: &models.HashedrekordV001SchemaData{Hash: &models.HashedrekordV001SchemaDataHash{
					Algorithm: ptr(models.HashedrekordV001SchemaDataHashAlgorithmSha256),
					Value:     ptr(hex.EncodeToString(a.digest[:])),
				}},
				Signature: &models.HashedrekordV001SchemaSignature{
					Content:   forged.sig,
					PublicKey: &models.HashedrekordV001SchemaSignaturePublicKey{Content: a.pubPEM},
				},
			},
		}
		_, err := createEntry(t, c, pe)
		var bad *entries.CreateLogEntryBadRequest
		if !errors.As(err, &bad) {
			t.Fatalf("CreateLogEntry() error = %v, want 400", err)
		}
		if !strings.Contains(bad.Payload.Message, "error processing entry") || !strings.Contains(bad.Payload.Message, "signature") {
			t.Errorf("400 message %q, want rekor's validation error about the signature", bad.Payload.Message)
		}
	})
}

// sigstore-go's Rekor client, meeting a 409, fetches the existing entry by
// UUID and still produces a verifiable transparency log entry.
func TestRekorConflictThroughSigstoreGo(t *testing.T) {
	s := sigstoretest.New(t)
	key := newKey(t)
	a := hashedRekord(t, key, []byte("retried upload"))
	bundleFor := func() *protobundle.Bundle {
		return &protobundle.Bundle{
			VerificationMaterial: &protobundle.VerificationMaterial{},
			Content: &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
				MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: a.digest[:]},
				Signature:     a.sig,
			}},
		}
	}
	r := sign.NewRekor(&sign.RekorOptions{BaseURL: s.RekorURL})
	var indexes []int64
	for range 2 {
		b := bundleFor()
		if err := r.GetTransparencyLogEntry(t.Context(), a.pubPEM, b); err != nil {
			t.Fatalf("GetTransparencyLogEntry: %v", err)
		}
		indexes = append(indexes, b.GetVerificationMaterial().GetTlogEntries()[0].GetLogIndex())
	}
	if indexes[0] != indexes[1] {
		t.Errorf("log indexes %v, want the same entry twice", indexes)
	}
}

func ptr[T any](v T) *T { return &v }
