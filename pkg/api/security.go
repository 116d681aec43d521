package api

// This file holds the `security:` descriptor. Its field comments are also the
// descriptions in the JSON Schema (see schema.go), so they are written for
// the person editing the YAML as much as for Go callers.

// Security is the `security:` block: what sc does to an image after it is
// pushed. Every field is optional; an unset field inherits from the parent
// configuration and finally takes its documented default.
type Security struct {
	// Enabled turns all of sc off when false. Default: true wherever a
	// security block is present; when no block is present nothing runs.
	Enabled *bool `yaml:"enabled,omitempty" json:"enabled,omitempty"`
	// Signing signs the image digest with cosign-compatible signatures.
	// Signing is on only when this block is present (it needs a key or
	// keyless: true).
	Signing *Signing `yaml:"signing,omitempty" json:"signing,omitempty"`
	// SBOM generates a software bill of materials and attaches it as a
	// signed attestation. On by default.
	SBOM *SBOM `yaml:"sbom,omitempty" json:"sbom,omitempty"`
	// Provenance generates SLSA v1.0 provenance and attaches it as a signed
	// attestation. On by default.
	Provenance *Provenance `yaml:"provenance,omitempty" json:"provenance,omitempty"`
	// Scan scans the image for known vulnerabilities and enforces a
	// severity policy. On by default.
	Scan *Scan `yaml:"scan,omitempty" json:"scan,omitempty"`
	// Reporting writes results for people and other systems.
	Reporting *Reporting `yaml:"reporting,omitempty" json:"reporting,omitempty"`
	// Platforms chooses which platform images of an image index (an OCI
	// index or Docker manifest list, as buildx and ko push) are scanned,
	// catalogued, attested and signed, as os/arch[/variant]: linux/amd64,
	// linux/arm/v7. A platform without a variant matches all its variants.
	// Default: every platform of the index. An image that is not an index
	// is its own only platform and is secured whatever this lists.
	Platforms []string `yaml:"platforms,omitempty" json:"platforms,omitempty"`
}

// Signing configures image signatures. Exactly one of keyless: true or
// privateKey selects how sc signs.
type Signing struct {
	// Enabled turns signing off when false. Default: true when the signing
	// block is present.
	Enabled *bool `yaml:"enabled,omitempty" json:"enabled,omitempty"`
	// Keyless signs with a short-lived Fulcio certificate bound to the CI
	// job's OIDC identity instead of a long-lived key. Default: false.
	Keyless *bool `yaml:"keyless,omitempty" json:"keyless,omitempty"`
	// PrivateKey is the signing key for key-based signing: a path to a
	// cosign PEM key file (relative to this file), or a ${env:NAME} /
	// ${file:PATH} reference whose value is the PEM key, or a KMS key URI:
	// awskms://[ENDPOINT]/KEY (a key id, key ARN, alias/NAME or alias ARN;
	// credentials and region from the AWS SDK's environment) or
	// hashivault://KEY (Vault's transit engine; VAULT_ADDR and VAULT_TOKEN).
	// Only these two KMS schemes are supported: gcpkms://, azurekms:// and
	// k8s:// are refused by validation.
	PrivateKey KeyRef `yaml:"privateKey,omitzero" json:"privateKey,omitzero"`
	// PublicKey verifies key-based signatures: a path to a PEM public key
	// (relative to this file), or an awskms:// or hashivault:// key URI
	// whose public key is read from the KMS (no other KMS scheme).
	// Default: derived from privateKey.
	PublicKey string `yaml:"publicKey,omitempty" json:"publicKey,omitempty"`
	// Password decrypts an encrypted privateKey. Use ${env:NAME} or
	// ${file:PATH}; a literal works but is discouraged.
	Password Secret `yaml:"password,omitzero" json:"password,omitzero"`
	// Required fails the release when the image cannot be signed. Default:
	// true (an image that was meant to be signed must not ship unsigned).
	Required *bool `yaml:"required,omitempty" json:"required,omitempty"`
	// Verify checks every signature right after it is written.
	Verify *Verify `yaml:"verify,omitempty" json:"verify,omitempty"`
	// FulcioURL is the Fulcio certificate authority used for keyless
	// signing. Default: https://fulcio.sigstore.dev.
	FulcioURL string `yaml:"fulcioURL,omitempty" json:"fulcioURL,omitempty"`
	// RekorURL is the Rekor transparency log. Default:
	// https://rekor.sigstore.dev.
	RekorURL string `yaml:"rekorURL,omitempty" json:"rekorURL,omitempty"`
	// TSAURL is an RFC 3161 timestamp authority; empty means none.
	TSAURL string `yaml:"tsaURL,omitempty" json:"tsaURL,omitempty"`
	// TlogUpload records signatures in the transparency log. Default: true.
	TlogUpload *bool `yaml:"tlogUpload,omitempty" json:"tlogUpload,omitempty"`
	// Format is how signatures are stored: bundle (a Sigstore bundle
	// attached through the referrers API or its tag fallback) or legacy
	// (cosign's .sig tag). Default: bundle.
	Format SignatureFormat `yaml:"format,omitempty" json:"format,omitempty"`
	// Annotations are added to every signature payload.
	Annotations map[string]string `yaml:"annotations,omitempty" json:"annotations,omitempty"`
	// Recursive signs, besides an image index's own digest, each of its
	// selected platform images, as `cosign sign --recursive` does, so that
	// a verifier of a platform digest finds a signature too. It changes
	// nothing for an image that is not an index. Default: true.
	Recursive *bool `yaml:"recursive,omitempty" json:"recursive,omitempty"`
}

// Verify configures the verification that follows signing.
type Verify struct {
	// Enabled turns verification after signing off when false. Default:
	// true.
	Enabled *bool `yaml:"enabled,omitempty" json:"enabled,omitempty"`
	// OIDCIssuer is the issuer the keyless certificate must name, for
	// example https://token.actions.githubusercontent.com. Required for
	// keyless signing.
	OIDCIssuer string `yaml:"oidcIssuer,omitempty" json:"oidcIssuer,omitempty"`
	// IdentityRegexp is a Go regular expression the keyless certificate's
	// whole identity must match, anchored as ^…$ (an unanchored pattern
	// matches any identity that contains a match, and is rejected). Set
	// this or identity for keyless signing.
	IdentityRegexp string `yaml:"identityRegexp,omitempty" json:"identityRegexp,omitempty"`
	// Identity is the exact identity (e-mail or URI) the keyless
	// certificate must name. Set this or identityRegexp for keyless
	// signing.
	Identity string `yaml:"identity,omitempty" json:"identity,omitempty"`
}

// SBOM configures the software bill of materials.
type SBOM struct {
	// Enabled turns SBOM generation off when false. Default: true.
	Enabled *bool `yaml:"enabled,omitempty" json:"enabled,omitempty"`
	// Format is the SBOM document format. Default: cyclonedx-json.
	Format SBOMFormat `yaml:"format,omitempty" json:"format,omitempty"`
	// Output also writes the SBOM to this path (relative to the working
	// directory); {service} is replaced by the service name. For an image
	// index each platform image's SBOM is written, its platform put before
	// the file name's first dot (sbom-api-linux-arm64.cdx.json). Default:
	// not written.
	Output string `yaml:"output,omitempty" json:"output,omitempty"`
	// Attach stores the SBOM in the registry as a signed attestation.
	// Default: true.
	Attach *bool `yaml:"attach,omitempty" json:"attach,omitempty"`
	// Required fails the release when the SBOM cannot be produced. Default:
	// false.
	Required *bool `yaml:"required,omitempty" json:"required,omitempty"`
	// Scope is which filesystem is catalogued: squashed (the final image)
	// or all-layers. Default: squashed.
	Scope SBOMScope `yaml:"scope,omitempty" json:"scope,omitempty"`
}

// Provenance configures SLSA v1.0 provenance.
type Provenance struct {
	// Enabled turns provenance off when false. Default: true.
	Enabled *bool `yaml:"enabled,omitempty" json:"enabled,omitempty"`
	// Builder identifies the build platform.
	Builder *Builder `yaml:"builder,omitempty" json:"builder,omitempty"`
	// IncludeGit records the git repository, commit and ref as a resolved
	// dependency. Default: true.
	IncludeGit *bool `yaml:"includeGit,omitempty" json:"includeGit,omitempty"`
	// IncludeDockerfile records the Dockerfile's path and digest. Default:
	// true.
	IncludeDockerfile *bool `yaml:"includeDockerfile,omitempty" json:"includeDockerfile,omitempty"`
	// Required fails the release when provenance cannot be produced.
	// Default: false.
	Required *bool `yaml:"required,omitempty" json:"required,omitempty"`
	// BuildArgs lists the build arguments whose values may be recorded;
	// all others are left out because they may hold secrets. Default: none.
	BuildArgs []string `yaml:"buildArgs,omitempty" json:"buildArgs,omitempty"`
}

// Builder identifies the build platform in provenance.
type Builder struct {
	// ID is the SLSA builder.id URI. Default: derived from the CI
	// environment at run time.
	ID string `yaml:"id,omitempty" json:"id,omitempty"`
}

// Scan configures vulnerability scanning and its policy.
type Scan struct {
	// Enabled turns scanning off when false. Default: true.
	Enabled *bool `yaml:"enabled,omitempty" json:"enabled,omitempty"`
	// Tools are the scanners to run; their findings are merged. Default:
	// grype alone.
	Tools []Tool `yaml:"tools,omitempty" json:"tools,omitempty"`
	// FailOn fails the scan on any finding at or above this severity.
	// Default: high.
	FailOn Severity `yaml:"failOn,omitempty" json:"failOn,omitempty"`
	// WarnOn reports findings at or above this severity, and below failOn,
	// as warnings. It must be below failOn, or it could never fire.
	// Default: one step below failOn (medium for the default high).
	WarnOn Severity `yaml:"warnOn,omitempty" json:"warnOn,omitempty"`
	// SoftFail reports policy violations without failing. Default: false.
	// Without it an image is never signed unscanned: signing is refused
	// when the scan could not complete (the SBOM failed, no database, a
	// scanner error). With it the image is signed and the result says it
	// was signed without a scan.
	SoftFail *bool `yaml:"softFail,omitempty" json:"softFail,omitempty"`
	// Ignore lists accepted findings. Each needs a reason.
	Ignore []IgnoreRule `yaml:"ignore,omitempty" json:"ignore,omitempty"`
	// VEX lists OpenVEX documents (paths relative to this file) whose
	// not_affected and fixed statements suppress findings.
	VEX []string `yaml:"vex,omitempty" json:"vex,omitempty"`
	// OnlyFixed counts only findings that have a fix available. Default:
	// false.
	OnlyFixed *bool `yaml:"onlyFixed,omitempty" json:"onlyFixed,omitempty"`
	// DBMaxAge is the oldest vulnerability database a scanner may use, as
	// a duration ("120h", "5d"). Default: 120h.
	DBMaxAge Duration `yaml:"dbMaxAge,omitzero" json:"dbMaxAge,omitzero"`
	// Attest attaches the scan result to the image (each platform image of
	// an index) as a signed vulnerability attestation in cosign's vuln
	// predicate, which `cosign verify-attestation --type vuln` and
	// Kyverno's attestation conditions read. Default: true when signing is
	// on (attestations are signed, so without signing there is none).
	Attest *bool `yaml:"attest,omitempty" json:"attest,omitempty"`
}

// Tool is one scanner.
type Tool struct {
	// Name is the scanner: grype or trivy.
	Name Scanner `yaml:"name,omitempty" json:"name,omitempty"`
	// Required fails the scan when this scanner cannot run. Default: false.
	Required *bool `yaml:"required,omitempty" json:"required,omitempty"`
	// FailOn overrides scan.failOn for this scanner's findings.
	FailOn Severity `yaml:"failOn,omitempty" json:"failOn,omitempty"`
	// WarnOn overrides scan.warnOn for this scanner's findings.
	WarnOn Severity `yaml:"warnOn,omitempty" json:"warnOn,omitempty"`
	// Path is the trivy executable (trivy only; grype runs in-process).
	// Default: trivy from PATH.
	Path string `yaml:"path,omitempty" json:"path,omitempty"`
}

// IgnoreRule accepts a finding.
type IgnoreRule struct {
	// ID is the vulnerability ID (CVE-…, GHSA-…) or an alias of it.
	ID string `yaml:"id,omitempty" json:"id,omitempty"`
	// Package limits the rule to packages whose name matches this glob.
	// Default: every package.
	Package string `yaml:"package,omitempty" json:"package,omitempty"`
	// Reason says why the finding is accepted; it is required and shows in
	// reports.
	Reason string `yaml:"reason,omitempty" json:"reason,omitempty"`
	// Expires is the last day (YYYY-MM-DD, UTC) the rule applies.
	Expires Date `yaml:"expires,omitzero" json:"expires,omitzero"`
}

// Reporting configures where results go besides the terminal.
type Reporting struct {
	// SARIF writes scan findings as SARIF 2.1.0 to this path (relative to
	// the working directory).
	SARIF string `yaml:"sarif,omitempty" json:"sarif,omitempty"`
	// Summary writes a Markdown summary to this path.
	Summary string `yaml:"summary,omitempty" json:"summary,omitempty"`
	// PRComment writes a Markdown pull-request comment to this path.
	PRComment string `yaml:"prComment,omitempty" json:"prComment,omitempty"`
	// DefectDojo uploads findings to a DefectDojo instance.
	DefectDojo *DefectDojo `yaml:"defectdojo,omitempty" json:"defectdojo,omitempty"`
}

// DefectDojo configures uploads to DefectDojo. It needs url and apiKey, and
// either engagementID or an engagementName with productName or productID.
type DefectDojo struct {
	// URL is the DefectDojo base URL (https; http only for localhost).
	URL string `yaml:"url,omitempty" json:"url,omitempty"`
	// APIKey is the API v2 token. Use ${env:NAME} or ${file:PATH}.
	APIKey Secret `yaml:"apiKey,omitzero" json:"apiKey,omitzero"`
	// ProductName names the product.
	ProductName string `yaml:"productName,omitempty" json:"productName,omitempty"`
	// ProductID identifies the product.
	ProductID int `yaml:"productID,omitempty" json:"productID,omitempty"`
	// EngagementName names the engagement.
	EngagementName string `yaml:"engagementName,omitempty" json:"engagementName,omitempty"`
	// EngagementID identifies the engagement.
	EngagementID int `yaml:"engagementID,omitempty" json:"engagementID,omitempty"`
	// AutoCreate creates the product and engagement when they do not exist;
	// it needs productName and engagementName. Default: false.
	AutoCreate *bool `yaml:"autoCreate,omitempty" json:"autoCreate,omitempty"`
	// CloseOldFindings closes findings of earlier uploads that are no longer
	// reported. Default: false.
	CloseOldFindings *bool `yaml:"closeOldFindings,omitempty" json:"closeOldFindings,omitempty"`
	// TestTitle is the title of the test the findings are imported into.
	// Default: DefectDojo's (the scan type).
	TestTitle string `yaml:"testTitle,omitempty" json:"testTitle,omitempty"`
}

// SignatureFormat is how signatures are stored in the registry.
type SignatureFormat string

// Signature formats.
const (
	// SignatureBundle stores a Sigstore bundle as an OCI referrer (or its
	// tag fallback).
	SignatureBundle SignatureFormat = "bundle"
	// SignatureLegacy stores cosign's simple signing payload under the
	// sha256-<digest>.sig tag.
	SignatureLegacy SignatureFormat = "legacy"
)

// Valid reports whether f is a known signature format.
func (f SignatureFormat) Valid() bool { return contains(signatureFormats(), f) }

func signatureFormats() []SignatureFormat { return []SignatureFormat{SignatureBundle, SignatureLegacy} }

// SBOMFormat is an SBOM document format.
type SBOMFormat string

// SBOM formats.
const (
	SBOMCycloneDXJSON SBOMFormat = "cyclonedx-json"
	SBOMCycloneDXXML  SBOMFormat = "cyclonedx-xml"
	SBOMSPDXJSON      SBOMFormat = "spdx-json"
	SBOMSPDXTagValue  SBOMFormat = "spdx-tag-value"
	SBOMSyftJSON      SBOMFormat = "syft-json"
)

// Valid reports whether f is a known SBOM format.
func (f SBOMFormat) Valid() bool { return contains(sbomFormats(), f) }

func sbomFormats() []SBOMFormat {
	return []SBOMFormat{SBOMCycloneDXJSON, SBOMCycloneDXXML, SBOMSPDXJSON, SBOMSPDXTagValue, SBOMSyftJSON}
}

// SBOMScope is which part of an image an SBOM catalogues.
type SBOMScope string

// SBOM scopes.
const (
	// ScopeSquashed catalogues the image's final filesystem.
	ScopeSquashed SBOMScope = "squashed"
	// ScopeAllLayers catalogues every layer, including files later deleted.
	ScopeAllLayers SBOMScope = "all-layers"
)

// Valid reports whether s is a known scope.
func (s SBOMScope) Valid() bool { return contains(sbomScopes(), s) }

func sbomScopes() []SBOMScope { return []SBOMScope{ScopeSquashed, ScopeAllLayers} }

// Scanner names a vulnerability scanner.
type Scanner string

// Scanners.
const (
	// ScannerGrype is Anchore's grype, run in-process.
	ScannerGrype Scanner = "grype"
	// ScannerTrivy is Aqua's trivy, run as an executable.
	ScannerTrivy Scanner = "trivy"
)

// Valid reports whether s is a known scanner.
func (s Scanner) Valid() bool { return contains(scanners(), s) }

func scanners() []Scanner { return []Scanner{ScannerGrype, ScannerTrivy} }

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// Active reports whether sc does anything for this configuration: a
// security block is present and not disabled. A nil Security is inactive.
func (s *Security) Active() bool { return s != nil && boolOr(s.Enabled, true) }

// SigningEnabled reports whether images are signed.
func (s *Security) SigningEnabled() bool {
	return s.Active() && s.Signing != nil && boolOr(s.Signing.Enabled, true)
}

// VerifyEnabled reports whether signatures are verified after signing.
func (s *Security) VerifyEnabled() bool {
	return s.SigningEnabled() && (s.Signing.Verify == nil || boolOr(s.Signing.Verify.Enabled, true))
}

// SBOMEnabled reports whether an SBOM is generated.
func (s *Security) SBOMEnabled() bool {
	return s.Active() && (s.SBOM == nil || boolOr(s.SBOM.Enabled, true))
}

// VulnAttestEnabled reports whether the scan result is attached as a
// signed vulnerability attestation: scanning and signing are on and
// scan.attest is not false.
func (s *Security) VulnAttestEnabled() bool {
	return s.ScanEnabled() && s.SigningEnabled() && (s.Scan == nil || boolOr(s.Scan.Attest, true))
}

// ProvenanceEnabled reports whether provenance is generated.
func (s *Security) ProvenanceEnabled() bool {
	return s.Active() && (s.Provenance == nil || boolOr(s.Provenance.Enabled, true))
}

// ScanEnabled reports whether the image is scanned.
func (s *Security) ScanEnabled() bool {
	return s.Active() && (s.Scan == nil || boolOr(s.Scan.Enabled, true))
}

// IsKeyless reports whether signing uses keyless (Fulcio) certificates.
func (s *Signing) IsKeyless() bool { return s != nil && boolOr(s.Keyless, false) }

func boolOr(b *bool, def bool) bool {
	if b == nil {
		return def
	}
	return *b
}
