// Package security is the map of sc's library; it holds no code. Each
// capability is a package of its own below it:
//
//   - runenv: where sc runs — CI detection, git metadata, OIDC identity
//     tokens, redacted secrets (standard library only).
//   - registry: references, digest resolution, auth, and storing artifacts
//     as legacy tags or OCI referrers.
//   - signing: image signatures — signers (key, keyless) and verification.
//   - attest: in-toto statements in DSSE — attach, fetch, verify.
//   - sbom: SBOM generation with syft, and the formats.
//   - provenance: SLSA v1.0 provenance.
//   - scan: scanners, merging, policy and results; scan/vulndb is grype's
//     database.
//   - report: every renderer of results and the DefectDojo upload.
//   - cache: the on-disk cache.
//   - pipeline: the executor that runs the steps above for one image or a
//     release, and merges the results of a release run in shards.
//   - shard: a release split across the jobs of a CI matrix — the plan
//     and the identity of the release a result belongs to.
package security
