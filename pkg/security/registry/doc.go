// Package registry is sc's access to OCI registries: it turns a reference
// into a digest, opens images lazily, and stores, lists and reads the
// artifacts (signatures, attestations, SBOMs) attached to a digest.
//
// The story of an sc run, as far as registries go:
//
//  1. Resolve turns "repo:tag" into "repo@sha256:…" once; everything after
//     works on the digest (the digest is the identity).
//  2. Image opens the image without downloading its layers.
//  3. Artifacts are attached in either of the two forms cosign uses:
//     AttachLegacy appends a layer to the image tagged sha256-<hex>.<suffix>
//     (sig, att, sbom); AttachReferrer pushes an OCI 1.1 referrer manifest
//     whose subject is the image, keeping the referrers fallback tag
//     sha256-<hex> up to date where the registry has no referrers API.
//  4. FetchLegacy, Referrers and FetchReferrer read them back; Tree lists
//     everything attached, like `cosign tree`.
//
// Every request goes through one HTTP stack (see transport.go): plain HTTP
// only to loopback registries unless WithInsecureHTTP, retries with backoff
// of idempotent requests on 429/5xx/refused or reset connections/EOF/
// timeouts (by pkg/security/httpretry's policy), whole-operation retries of
// blob uploads, a per-request stall timeout, and the sc user agent.
// Explicit credentials (WithCredentials) go to their own registry only,
// never to another one or to a token server outside its domain; other
// registries get the keychain's. Everything a registry answers is bounded
// before it is read (limits.go: sizes, counts, a deadline per
// verification); going past a limit is a *LimitError. Errors name the
// image and wrap ErrNotFound, ErrNoSuchImage, ErrUnauthorized, ErrUnreachable,
// ErrMalformed, ErrInvalidReference or ErrInsecureHTTP, each in an outcome
// class.
//
// What it does not do: it does not sign, verify or interpret artifacts
// (pkg/security/signing and pkg/security/attest do, on top of it), it does
// not import sigstore or cosign, and it never reads the environment (the
// default keychain of go-containerregistry reads the docker config).
package registry
