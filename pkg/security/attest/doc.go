// Package attest signs in-toto statements about container images, stores
// them next to the images, and finds and verifies them again: the
// attestation core that SBOMs (pkg/security/sbom) and SLSA provenance
// (pkg/security/provenance) share.
//
// The story of an attestation:
//
//  1. NewStatement wraps a Predicate (a predicate type and a document) in an
//     in-toto Statement v1 whose subject is the image's repository and
//     digest. A JSON document becomes the predicate object as it is; a
//     document that is not JSON (an SPDX tag-value or CycloneDX XML SBOM)
//     becomes a JSON string, as `cosign attest --type spdx` stores one.
//  2. Attach signs the statement as a DSSE envelope with a signing.Signer
//     (key or keyless) and stores it through signing.AttachEnvelope in
//     either format cosign reads: a Sigstore bundle v0.3 stored as an OCI
//     1.1 referrer of the image (signing.FormatBundle, with the referrers
//     tag schema on registries without the referrers API), or a layer of
//     the sha256-<hex>.att image (signing.FormatLegacy). Attaching never
//     reads the image itself, and attestations accumulate: an SBOM, a
//     provenance statement and their re-runs all coexist.
//  3. A Verifier lists the bundle referrers and the .att layers of an image
//     digest in the formats its signing.Verifier reads, and reads each
//     statement once, with ParseStatement: strictly (each key once, exact
//     case, nothing after the object). That one reading keeps those of the
//     requested predicate types (by the stored predicateType annotation,
//     then by the signed statement), checks that the statement is about
//     this image (the subject digest is the image's) and gives the subject
//     annotations the policy checks. The signing.Verifier then verifies the
//     envelope's signature under its signing.Policy (a public key, or a
//     certificate identity) with the transparency log, SCT and timestamp
//     rules of image signatures, and the subject name (when there is one)
//     must be the image's repository. It returns the verified
//     attestations, newest first, with the signed statement and its
//     predicate, and every rejected one with the reason.
//
// Predicate types are URIs; PredicateType also takes the names `cosign
// attest --type` uses (cyclonedx, spdxjson, slsaprovenance1, …), so that
// `cosign verify-attestation --type` with the same name accepts what sc
// attached, and sc verifies what cosign attested. CosignPredicate turns a
// document into the predicate `cosign attest --type` would sign for it,
// with cosign's own statement generator (the custom type's wrapping, the
// shapes of the provenance and vuln predicates), for attestations of any
// type.
//
// What it does not do: it does not generate SBOMs or provenance (their
// packages do), interpret predicates beyond telling a JSON object from a
// string, resolve tags on attach (callers pass the digest they resolved
// once), verify signatures or talk to Sigstore services itself (pkg/security/signing
// and its signers do), or read the
// environment. Attestations of image indexes are about the index digest
// only; nothing is done per platform.
package attest
