// Package signing signs container images and verifies their signatures with
// Sigstore's libraries (cosign v3's pkg/, sigstore-go), in the two formats
// cosign reads and writes.
//
// The pipeline:
//
//   - Keys: GenerateKeyPair makes an encrypted ECDSA P-256 key pair in
//     cosign's format; LoadPrivateKey decrypts a key (key references —
//     files, env://VAR, ${env:…} — are read by pkg/api's KeyRef)
//     (keys from `cosign generate-key-pair` load as they are).
//   - Signers: a Signer signs content (a message or a DSSE envelope) into a
//     Sigstore bundle. KeySigner signs with a private key; KeylessSigner
//     gets a short-lived Fulcio certificate for an OIDC identity token.
//     Both record the signature in Rekor and get an RFC 3161 timestamp when
//     their Services name them.
//   - Storing: SignImage resolves an image to its digest once and signs
//     the digest, in the bundle format (an in-toto statement with predicate
//     type SignPredicateType in a DSSE envelope in a bundle v0.3, stored as
//     an OCI 1.1 referrer) or the legacy format (cosign's simple-signing
//     payload as a layer of the sha256-<hex>.sig image). It skips signing
//     when the same signer already signed the digest, and can verify what
//     it wrote.
//   - Verifying: a Verifier reads both formats, including what the cosign
//     CLI writes, and checks each signature against trusted material
//     (PublicGoodTrustedRoot through TUF, or LoadTrustedRoot) and a Policy:
//     a public key, or a certificate subject and issuer. It reports every
//     valid signature and the reason for every rejected one. Failures of
//     sigstore-go and cosign are turned into reasons in one place
//     (explain.go): by the libraries' error types where they export any,
//     by their messages where they do not.
//   - Envelopes, the part attestations share: AttachEnvelope stores a
//     signed DSSE envelope in either format, ReadEnvelope reads one back
//     and Verifier.VerifyEnvelope checks its signature with the rules of
//     image signatures. pkg/security/attest builds on them.
//
// What it does not do: it does not read attestations' in-toto statements
// (their subject, predicate type and annotations are pkg/security/attest's,
// with its one strict parser), does not talk to registries itself (a Registry,
// implemented by pkg/security/registry's Client, does), does not read the
// process environment or prompt for passwords (pkg/cmd does), does not
// obtain OIDC tokens (a TokenSource supplies them), and does not support
// hardware keys, Rekor v2, or signing image indexes recursively. KMS keys
// reach it as a signature.SignerVerifier that pkg/security/signing/kms
// loads (NewKeySigner takes it like a key file's).
package signing
