// Package export writes an sc image policy (api.ImagePolicy) as the
// admission policies clusters already run, so that a team states its
// deploy requirements once:
//
//   - FormatKyverno: a Kyverno ClusterPolicy (kyverno.io/v1) with one
//     verifyImages rule: the policy's signers as attestors of the image
//     signature, and each required attestation with its own attestors and,
//     for provenance and vulnerability attestations, JMESPath conditions on
//     the predicate. In the bundle format the image signature is required
//     as an attestation too (its in-toto statement, predicate type
//     https://sigstore.dev/cosign/sign/v1): Kyverno's bundle attestors
//     accept any bundle the signer made, an attestation's included.
//   - FormatPolicyController: a Sigstore policy-controller
//     ClusterImagePolicy (policy.sigstore.dev/v1beta1): one authority per
//     signer of the image signature and per signer of each attestation,
//     attestation policies in Rego, and a policy over the authorities that
//     requires a signature and every attestation (authorities alone are
//     alternatives).
//
// The conditions read what sc writes: the vulnerability attestation is
// cosign's vuln predicate whose scanner.result is sc's scan.Result
// (schemaVersion "1", matches[].severity in lower case, the findings left
// after ignore rules and VEX) and metadata.scanFinishedOn; provenance is
// SLSA v1 with runDetails.builder.id and the source repository in
// buildDefinition.externalParameters.source.uri.
//
// A signer whose key is an awskms:// or hashivault:// URI is exported as
// that URI (Kyverno's keys.kms, policy-controller's key.kms): the engine
// reads the public key from the KMS with its own credentials, as
// `sc verify` does with sc's. policy-controller takes an awskms:// key by
// its key or alias ARN only; another awskms:// form is ErrUnsupported for
// it.
//
// Export is a pure transformation: it reads the public key files the
// policy names and nothing else (no KMS), and it does not check a policy
// the way `sc verify --policy` does. Where a cluster engine cannot express a
// requirement (policy-controller v0.13 reads Sigstore bundles only for
// keyless signers) it returns ErrUnsupported rather than a weaker policy.
// Keyless signers are verified against the public Sigstore (Fulcio, Rekor)
// the engines trust by default, or, WithTrustedRoot, against a private
// instance's trusted root: its material in Kyverno's attestors (legacy
// format only), a TrustRoot resource for policy-controller.
package export
