package api

// ImagePolicyKind is the kind of a deploy-time policy file.
const ImagePolicyKind = "ImagePolicy"

// ImagePolicy says what a deployable image must carry: who signed it and
// which attestations, by whom, with what content. `sc verify --policy`
// checks it against the registry; `sc policy export` writes the Kyverno
// ClusterPolicy and the Sigstore policy-controller ClusterImagePolicy that
// require the same; `sc policy from-config` derives it from a stack file's
// security block.
//
// A policy file is YAML (or JSON), strict like the stack file: unknown
// fields are errors with their file:line.
type ImagePolicy struct {
	// APIVersion is "sc.dev/v1".
	APIVersion string `yaml:"apiVersion" json:"apiVersion"`
	// Kind is "ImagePolicy".
	Kind string `yaml:"kind" json:"kind"`
	// Name names the policy: the name of the exported cluster policies.
	Name string `yaml:"name" json:"name"`
	// Images are the image references the policy applies to, as globs
	// ("registry.example.com/shop/*"); what the exported cluster policies
	// match. Default: every image.
	Images []string `yaml:"images,omitempty" json:"images,omitempty"`
	// Signers are who may have signed the image: a signature by any one of
	// them satisfies the policy. At least one.
	Signers []PolicySigner `yaml:"signers" json:"signers"`
	// Attestations are the attestations the image must carry, each
	// verified on the image (on each platform image of an index).
	Attestations []PolicyAttestation `yaml:"attestations,omitempty" json:"attestations,omitempty"`
}

// PolicySigner is one accepted signer: a public key, or a keyless
// identity (certificate subject and OIDC issuer, exact or an anchored
// regular expression). Exactly one of Key and the identity.
type PolicySigner struct {
	// Key is a PEM public key file (relative to the policy file), the PEM
	// itself, or the URI of a KMS key whose public key the KMS gives:
	// awskms://[ENDPOINT]/KEY or hashivault://KEY, read with the
	// credentials of the environment as cosign reads them. Other KMS
	// schemes (gcpkms://, azurekms://, k8s://) are refused.
	Key string `yaml:"key,omitempty" json:"key,omitempty"`
	// Subject is the exact certificate identity (an e-mail address or a
	// workflow URI).
	Subject string `yaml:"subject,omitempty" json:"subject,omitempty"`
	// SubjectRegExp is an anchored (^…$) regular expression for it.
	SubjectRegExp string `yaml:"subjectRegExp,omitempty" json:"subjectRegExp,omitempty"`
	// Issuer is the exact OIDC issuer URL.
	Issuer string `yaml:"issuer,omitempty" json:"issuer,omitempty"`
	// IssuerRegExp is an anchored regular expression for it.
	IssuerRegExp string `yaml:"issuerRegExp,omitempty" json:"issuerRegExp,omitempty"`
	// Transparency requires the signature to be in the transparency log
	// (Rekor) with an inclusion proof. Default: true for a keyless signer,
	// false for a key.
	Transparency *bool `yaml:"transparency,omitempty" json:"transparency,omitempty"`
}

// PolicyAttestation is one required attestation.
type PolicyAttestation struct {
	// Type is cosign's --type name (slsaprovenance1, cyclonedx, spdxjson,
	// vuln, openvex, custom, …) or a predicate type URI.
	Type string `yaml:"type" json:"type"`
	// Signers are who may have signed the attestation. Default: the
	// policy's Signers.
	Signers []PolicySigner `yaml:"signers,omitempty" json:"signers,omitempty"`
	// Provenance constrains an SLSA provenance attestation: the newest
	// that verifies. Only on type slsaprovenance1 (SLSA v1.0, what sc
	// writes).
	Provenance *ProvenanceRequirement `yaml:"provenance,omitempty" json:"provenance,omitempty"`
	// Vuln constrains a vulnerability (cosign vuln predicate) attestation
	// as sc writes it (scan.attest): the newest that verifies. Only on type
	// vuln.
	Vuln *VulnRequirement `yaml:"vuln,omitempty" json:"vuln,omitempty"`
}

// ProvenanceRequirement is what the provenance must say.
type ProvenanceRequirement struct {
	// BuilderID is the required builder id (runDetails.builder.id).
	BuilderID *Match `yaml:"builderID,omitempty" json:"builderID,omitempty"`
	// SourceRepository is the required source repository (the git URI of
	// the build's resolved dependencies / external parameters).
	SourceRepository *Match `yaml:"sourceRepository,omitempty" json:"sourceRepository,omitempty"`
}

// Match is an exact value or a prefix: exactly one of the two.
type Match struct {
	// Exact is the whole value.
	Exact string `yaml:"exact,omitempty" json:"exact,omitempty"`
	// Prefix is how the value starts; end it with "/" to match the
	// repositories of an organisation rather than every name that starts
	// alike.
	Prefix string `yaml:"prefix,omitempty" json:"prefix,omitempty"`
}

// VulnRequirement is what the newest vulnerability attestation must say.
type VulnRequirement struct {
	// MaxAge is the oldest scan accepted, measured from the predicate's
	// metadata.scanFinishedOn ("168h", "7d").
	MaxAge Duration `yaml:"maxAge,omitzero" json:"maxAge,omitzero"`
	// MaxSeverity is the highest severity allowed among the counted
	// findings (scanner.result.matches: after ignore rules and VEX):
	// critical, high, medium, low, negligible, or none (no finding at
	// all).
	MaxSeverity Severity `yaml:"maxSeverity,omitempty" json:"maxSeverity,omitempty"`
}
