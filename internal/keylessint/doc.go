// Package keylessint holds the keyless integration tests that run against
// the real Sigstore services (Fulcio, Rekor on Trillian, a CT log and the
// timestamp authority, started by internal/testutil/sigstorelocal) and the
// real cosign CLI. It has no code of its own outside its tests; the unit
// tests of each package keep using the in-process imitations of
// internal/testutil/sigstoretest.
package keylessint
