// Package sigstorelocal runs the real Sigstore services on 127.0.0.1 for
// the keyless integration tests: Fulcio (with a file CA made by the test),
// Rekor v1 on Trillian (log server and log signer) backed by a MariaDB
// started in a scratch directory, a certificate transparency log for
// Fulcio's SCTs (certificate-transparency-go's ct_server on the same
// Trillian), and the timestamp authority. The OIDC issuer Fulcio trusts is
// sigstoretest's in-process one, so tests mint tokens as they do against
// the imitations.
//
// Start builds nothing: the binaries are installed by .ci/sigstore.sh into
// the tools directory (testutil.ToolsDir). Without them a test is skipped
// with that command, and fails under CI=true. Everything a Start makes (the
// database, keys, configuration, logs) lives in temporary directories and
// processes that end with the test; each Start is a fresh, empty Sigstore.
//
// Services mirrors sigstoretest.Sigstore's surface (service URLs, Token,
// TrustedRootJSON, SigningConfigJSON), so that a test written against the
// imitations can run against the real services too. What it does not
// offer: clock skew (the real services read the wall clock), Rekor v2, and
// any CI-provider identity type; Fulcio trusts one issuer, for e-mail
// identities.
package sigstorelocal
