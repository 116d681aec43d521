package cosigntest

import (
	"bytes"
	"context"
	"crypto"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/cosign/v3/pkg/cosign/attestation"
	cbundle "github.com/sigstore/cosign/v3/pkg/cosign/bundle"
	"github.com/sigstore/cosign/v3/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v3/pkg/oci/remote"
	"github.com/sigstore/cosign/v3/pkg/oci/static"
	ctypes "github.com/sigstore/cosign/v3/pkg/types"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"google.golang.org/protobuf/encoding/protojson"
)

// Signer signs the way the cosign CLI does: a sigstore-go ephemeral key
// pair, and for keyless an identity token plus a signing configuration
// naming Fulcio and Rekor. The interop tests write what it signs with
// cosign's own writers.
type Signer struct {
	keypair sign.Keypair
	idToken string
	config  *root.SigningConfig
	trusted root.TrustedMaterial
}

// NewKeySigner is `cosign sign --key` with a fresh key and no log; it
// returns the public key to verify with.
func NewKeySigner() (*Signer, crypto.PublicKey, error) {
	kp, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := root.NewSigningConfig(root.SigningConfigMediaType02, nil, nil, nil, root.ServiceConfiguration{}, nil, root.ServiceConfiguration{})
	if err != nil {
		return nil, nil, err
	}
	return &Signer{keypair: kp, config: cfg}, kp.GetPublicKey(), nil
}

// NewKeylessSigner is keyless `cosign sign` with the identity token token
// against the services signingConfig (a signing configuration, JSON) names,
// checked with trusted: cosign's NewSigningConfigFromKeyOpts with
// --fulcio-url and --rekor-url.
func NewKeylessSigner(signingConfig []byte, token string, trusted root.TrustedMaterial) (*Signer, error) {
	kp, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		return nil, err
	}
	cfg, err := root.NewSigningConfigFromJSON(signingConfig)
	if err != nil {
		return nil, err
	}
	return &Signer{keypair: kp, idToken: token, config: cfg, trusted: trusted}, nil
}

// SignData is cosign's bundle.SignData for content with this signer: the
// Sigstore bundle JSON.
func (s *Signer) SignData(ctx context.Context, content sign.Content) ([]byte, error) {
	return cbundle.SignData(ctx, content, s.keypair, s.idToken, nil, nil, s.config, s.trusted, cbundle.SignOptions{})
}

// Attest is `cosign attest --type typ --predicate FILE` for the image d,
// FILE holding predicate: cosign's statement generator, this signer, and
// cosign's writers, storing a bundle as an OCI referrer (bundle true,
// --new-bundle-format) or a layer of the sha256-<hex>.att tag (legacy,
// with the certificate and the log entry as cosign v2 stored them).
// predicateType is typ's URI, which cosign annotates the attestation with.
func (s *Signer) Attest(ctx context.Context, d name.Digest, typ, predicateType string, predicate []byte, bundle bool) error {
	sh, err := attestation.GenerateStatement(attestation.GenerateOpts{
		Predicate: bytes.NewReader(predicate),
		Type:      typ,
		Digest:    strings.TrimPrefix(d.DigestStr(), "sha256:"),
		Repo:      d.Repository.String(),
	})
	if err != nil {
		return fmt.Errorf("cosign GenerateStatement --type %s: %w", typ, err)
	}
	payload, err := sh.MarshalJSON()
	if err != nil {
		return err
	}
	raw, err := s.SignData(ctx, &sign.DSSEData{Data: payload, PayloadType: ctypes.IntotoPayloadType})
	if err != nil {
		return fmt.Errorf("cosign SignData: %w", err)
	}
	if bundle {
		if err := ociremote.WriteAttestationNewBundleFormat(d, raw, predicateType, remoteOptions()...); err != nil {
			return fmt.Errorf("cosign WriteAttestationNewBundleFormat: %w", err)
		}
		return nil
	}
	var pb protobundle.Bundle
	if err := protojson.Unmarshal(raw, &pb); err != nil {
		return err
	}
	env, err := json.Marshal(pb.GetDsseEnvelope())
	if err != nil {
		return err
	}
	opts := []static.Option{
		static.WithLayerMediaType(ctypes.DssePayloadType),
		static.WithAnnotations(map[string]string{"predicateType": predicateType}),
	}
	if cert := pb.GetVerificationMaterial().GetCertificate(); cert != nil {
		opts = append(opts, static.WithCertChain(cryptoutils.PEMEncode(cryptoutils.CertificatePEMType, cert.GetRawBytes()), nil))
	}
	if entries := pb.GetVerificationMaterial().GetTlogEntries(); len(entries) > 0 {
		e := entries[0]
		opts = append(opts, static.WithBundle(&cbundle.RekorBundle{
			SignedEntryTimestamp: e.GetInclusionPromise().GetSignedEntryTimestamp(),
			Payload: cbundle.RekorPayload{
				Body:           e.GetCanonicalizedBody(),
				IntegratedTime: e.GetIntegratedTime(),
				LogIndex:       e.GetLogIndex(),
				LogID:          hex.EncodeToString(e.GetLogId().GetKeyId()),
			},
		}))
	}
	sig, err := static.NewAttestation(env, opts...)
	if err != nil {
		return err
	}
	se, err := mutate.AttachAttestationToEntity(ociremote.SignedUnknown(d, remoteOptions()...), sig)
	if err != nil {
		return err
	}
	if err := ociremote.WriteAttestations(d.Repository, se, remoteOptions()...); err != nil {
		return fmt.Errorf("cosign WriteAttestations: %w", err)
	}
	return nil
}
