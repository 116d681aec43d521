// Package policy checks a container image against a deploy-time image
// policy (api.ImagePolicy): the one gate a deployment asks before it runs
// an image, and what `sc verify IMAGE --policy FILE` prints.
//
// The story of a check:
//
//  1. Load reads a policy file strictly (api.LoadPolicy, with file:line
//     problems) and adds the checks pkg/api cannot make on its own
//     (Problems): every attestation type is a cosign --type name or a
//     predicate type URI, listed once; vuln constraints sit on type vuln
//     and provenance constraints on slsaprovenance1 only.
//  2. NewChecker turns every signer of the policy into a signing.Policy (a
//     public key, or a certificate identity and issuer) with its
//     transparency log rule, and refuses, as outcome.ErrInvalid, a policy
//     whose keys do not parse or whose keyless signers lack trusted
//     material. A key given as an awskms:// or hashivault:// URI is read
//     from the KMS then, through signing/setup.PublicKey (the code path of
//     --key on the verify commands): a KMS that cannot be reached fails
//     the whole check as outcome.ErrOperational (exit 3).
//  3. Checker.Check resolves the reference once, lists the platform images
//     of an index, and checks each requirement against the registry: the
//     signature of the digest (of the index itself for an index) by any one
//     signer; each attestation of the image (of each platform image of an
//     index, where sc attaches them) verified by one of its signers; for
//     provenance, the builder id and source repository of the newest valid
//     statement (provenance.Verify); for the vuln attestation, the newest
//     valid one's scan time within maxAge of the clock and no counted
//     finding above maxSeverity (its scanner.result is sc's scan.Result).
//     All the verifiers read through one shared view of the registry, so
//     each digest's referrers are listed, and each artifact fetched, once.
//  4. The Result lists one Requirement per check, each ok, failed or error
//     (could not be checked) with the reason; Result.Err classes the whole:
//     ErrRequirementFailed (exit 1) when any failed, else ErrNotChecked
//     (exit 3) when any could not be checked.
//
// FromConfig derives the policy a release made under a stack file's
// security block satisfies, so that a team writes its requirements once.
//
// What it does not do: it does not sign or attach anything, match the
// reference against the policy's images globs (those scope the exported
// cluster policies; Check checks the image it is given), write cluster
// policies (a sibling package does), or fetch trusted material (callers
// pass it, see signing/setup.Trust). Provenance constraints read SLSA v1.0
// only; a vuln attestation whose scanner.result is not sc's scan result
// can be required, but not constrained by severity.
package policy
