// Package pipeline is sc's executor: the step graph that secures one image
// and a release of many, the steps a single-image command reuses, and the
// results they produce.
//
// An Executor secures the images of a release (api.Service values, each with
// its effective security configuration). Run plans every service first —
// formats, the scan policy with its VEX documents, the signer (the key is
// loaded once per release) and the verification policy — and stops with an
// outcome.ErrInvalid error, before any request, when a configuration cannot
// work. Then it works on up to WithJobs images at once, each through this
// graph, every step starting as soon as what it waits for has ended:
//
//	resolve ─┬─ sbom-generate ── scan ─┐ gate (unless scan.softFail)
//	         ├─ provenance-generate ───┼─ sign ── verify
//	         │                         ├─ sbom-attach ── sbom-verify
//	         │                         ├─ provenance-attach ── provenance-verify
//	         │                         ├─ vuln-attach ── vuln-verify (needs scan)
//	         │                         └─ vex-attach ── vex-verify (needs scan)
//
// resolve turns the reference into a digest once; everything after works on
// the digest. An image index (an OCI index or a Docker manifest list, as
// buildx and ko push) is worked on per platform image: resolve lists the
// platform images (registry.Client.Platforms; the service's platforms
// selection chooses among them, buildx's attestation manifests are skipped
// and said so), and sbom-generate and scan run for each platform digest,
// up to WithJobs at once, each platform's failure naming the platform. The
// scan verdict of an index is the worst over its platforms; the result
// lists each platform (SecurityResult.Platforms). sign signs the index
// digest, what a deployment pins, and with signing.recursive (the default)
// each platform image too, as `cosign sign --recursive` does; the SBOM and
// provenance attestations are attached to each platform image, as buildx
// attaches them, and verified there, the provenance naming the index and
// every platform image as its subjects. vuln-attach attaches each platform
// image's scan result (VulnPredicate, cosign's vuln predicate) when
// scan.attest is on, as Kyverno's attestation conditions read it;
// vex-attach attaches, with it, the VEX statements that set findings aside
// (VEXPredicate, an OpenVEX document), and is skipped with the reason when
// scan.vex lists no document or no statement suppressed a finding. sign
// waits for the scan's verdict unless softFail, so a violating image is
// never signed; the attachments need the signature (and their documents),
// and every written signature and attestation is read back and verified
// under signing.verify's policy. A step that is turned
// off, or has nothing to do in the configuration (attestations without
// signing), is skipped with the reason; Steps lists them all.
//
// Each step is fail-open: when it cannot run it warns and the steps that
// need its output are skipped. With required: true it is fail-closed and
// fails, and so does a required step whose input an optional one could not
// make. A check that ran and said no (a policy violation, a signature that
// does not verify) always fails. A step's failure never stops another
// image; cancelling the context does: running steps stop, steps not started
// are skipped, and Run returns an operational error wrapping
// context.Canceled. Nothing half-written is ever valid: registry writes
// become visible only when complete, the cache and the SBOM files are
// written through temporary files renamed into place.
//
// The result is a SecurityResult per image (every step's status, duration,
// detail, warnings, error and the signature and attestation digests it
// wrote; the SBOM summary and the scan result), JSON-tagged, and an overall
// outcome whose error is in the class of the worst step (operational over
// invalid over check-failed). An Observer receives start and end events of
// every step; the executor never prints.
//
// Reuse: an image that several services of a release name (a platform
// image two indexes share) is catalogued once. With WithCache, an SBOM (by
// digest, format, scope and syft version)
// and each scanner's report (by digest, scanner version and database build)
// come from pkg/security/cache, so an unchanged image downloads no layer; the
// policy is applied afresh each time. Signing is skipped when this signer's
// signature already verifies, and an SBOM attestation when the same
// statement by the same signer already verifies; provenance, whose times
// change, is attached on every run (with WithProvenanceReuse, one by the
// same signer that verifies is kept). With WithLayerCache, layers shared by
// several images are downloaded once per release (go-containerregistry's
// filesystem layer cache, with one download per layer and no partial
// entries). The scanners are given once (WithScanners): grype's database is
// loaded once for every image.
//
// Single-image commands reuse the steps rather than redo them: ScanImage
// (resolve, the platform images of an index, then GenerateSBOM and
// ScanDigest for each, with the same cache and the same scan-report
// decorator as the sbom-generate and scan steps) is `sc image scan`. The provenance step describes the build with
// provenance.NewBuild, as `sc provenance` does.
//
// The executor does not read the environment or files other than those the
// configuration names (keys, public keys, VEX documents, Dockerfiles, the
// SBOM output), does not choose the cache directory, and does not obtain
// trusted material; its caller (pkg/cmd/release) does.
//
// Where sc runs (CI, git, identity tokens) is pkg/security/runenv; turning a
// signing block into a signer, the check after signing and the need for
// trusted material is pkg/security/signing/setup; the on-disk result cache
// is pkg/security/cache. This package does not render
// results: pkg/security/report does.
package pipeline
