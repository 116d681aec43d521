// Package setup turns signing configuration into the Sigstore objects
// pkg/security/signing and pkg/security/attest take. It is the one place
// that reads a signing block of the security descriptor (api.Signing) —
// written in a configuration file, or mapped from a command's flags — and
// decides:
//
//   - the Sigstore services: Fulcio (keyless only) and Rekor default to the
//     public-good instance (api.DefaultFulcioURL, api.DefaultRekorURL);
//     tlogUpload: false drops Rekor; a timestamp authority only when named
//     (Services, Logged);
//   - the signer: a private key (a file, ${env:…}/${file:…} holding the
//     PEM key, or PEM content) decrypted with its password or a default
//     one, a KMS key (awskms://, hashivault://: package kms, the only
//     importer of sigstore's KMS providers), or keylessly a Fulcio certificate for the identity of a token
//     source (Signers);
//   - the verification policy: a public key, or a certificate identity and
//     issuer, whether a transparency log entry and a certificate
//     transparency timestamp are required, and so which times are trusted
//     (Verification, NewVerification, AfterSigning);
//   - whether trusted material (a Sigstore trusted root) is needed, and
//     where it comes from (NeedsTrustedMaterial,
//     Verification.NeedsTrustedMaterial, Trust).
//
// The executor of pkg/security/pipeline and every command that signs or
// verifies (sc image sign/verify, sc sbom attach/verify, sc provenance
// attach/verify, sc release create, sc quickstart) use it, so a signing
// block and the equivalent flags give the same signer and the same checks.
//
// What it does not do: it does not sign, verify or store anything (the
// signing and attest packages do), does not read the process environment
// or prompt for passwords (callers pass an environment reader and a
// default password), and does not obtain OIDC tokens (a signing.TokenSource
// supplies them). KMS keys of other schemes (gcpkms://, azurekms://,
// k8s://) are refused.
package setup
