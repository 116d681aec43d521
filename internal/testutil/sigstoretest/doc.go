// Package sigstoretest runs a private Sigstore inside a test process, so that
// keyless signing can be tested end to end without reaching the internet.
//
// New starts four HTTP servers on 127.0.0.1, each speaking the wire protocol
// of the public service it stands in for:
//
//   - an OpenID Connect issuer: discovery document and JWKS; Sigstore.Token
//     mints ID tokens (audience "sigstore") for any identity, and TokenOptions
//     mint the bad ones (expired, wrong audience, unknown key, …);
//   - Fulcio: POST /api/v2/signingCert (public key + proof of possession, or a
//     CSR), GET /api/v2/trustBundle. Tokens are verified against the issuer's
//     JWKS over HTTP with go-oidc, as Fulcio does; certificates are 10-minute
//     code-signing leaves with the Fulcio issuer extensions and an embedded SCT
//     from a CT log key listed in the trusted root. As in Fulcio, the proof
//     of possession is checked with SHA-256, so keys whose signer hashes
//     otherwise (sigstore-go's P-384 keypairs) must send a CSR instead;
//   - Rekor v1: POST /api/v1/log/entries (hashedrekord, dsse and intoto
//     entries, canonicalised by rekor's own types), GET by UUID or index,
//     POST /api/v1/log/entries/retrieve, GET /api/v1/log, /api/v1/log/proof
//     and /api/v1/log/publicKey, over a real RFC 6962 Merkle tree with signed
//     checkpoints and signed entry timestamps; duplicates get 409 Conflict;
//   - a timestamp authority: POST /api/v1/timestamp (RFC 3161 DER request
//     and response) and GET /api/v1/timestamp/certchain.
//
// TrustedRoot and TrustedRootJSON describe all of it as a Sigstore trusted
// root (the trusted_root.json a CLI takes with --trusted-root), and
// SigningConfigJSON lists the service URLs as a signing config.
//
// Signing with sigstore-go needs nothing special:
//
//	s := sigstoretest.New(t)
//	b, err := sign.Bundle(content, keypair, sign.BundleOptions{
//		CertificateProvider:        sign.NewFulcio(&sign.FulcioOptions{BaseURL: s.FulcioURL}),
//		CertificateProviderOptions: &sign.CertificateProviderOptions{IDToken: s.Token("ci@example.com")},
//		TransparencyLogs:           []sign.Transparency{sign.NewRekor(&sign.RekorOptions{BaseURL: s.RekorURL})},
//		TimestampAuthorities:       []*sign.TimestampAuthority{sign.NewTimestampAuthority(&sign.TimestampAuthorityOptions{URL: s.TSAURL})},
//	})
//
// and verifiers keep every production check on: certificates carry an
// embedded SCT, so verify.WithSignedCertificateTimestamps(1) and cosign's
// default SCT check pass without IgnoreSCT; Rekor entries carry both a
// signed entry timestamp and an inclusion proof, so verify.WithTransparencyLog
// and verify.WithObserverTimestamps (or WithIntegratedTimestamps, or
// WithSignedTimestamps with the TSA) work as against the public good
// instance. Verify against s.TrustedRoot() and an identity of
// s.OIDCIssuerURL plus the identity given to Token.
//
// For "untrusted signer" cases, start a second Sigstore: its certificates,
// log entries and timestamps chain to nothing the first one trusts.
//
// The package is a test double, not a Sigstore implementation: keys live in
// memory and die with the test, Rekor v2 (tiles) and Fulcio's v1 API are not
// served, Fulcio knows exactly one OIDC issuer and issues email or URI
// identities only (no CI-provider extensions), and Rekor does not enforce
// its production algorithm allow-list. SetClockSkew moves one service's clock
// to build expired-certificate and timestamp-ordering cases.
package sigstoretest
