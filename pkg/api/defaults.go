package api

import "time"

// Default values that are not simply true, false or empty. The full table
// is in the package documentation.
const (
	DefaultFulcioURL       = "https://fulcio.sigstore.dev"
	DefaultRekorURL        = "https://rekor.sigstore.dev"
	DefaultSignatureFormat = SignatureBundle
	DefaultSBOMFormat      = SBOMCycloneDXJSON
	DefaultSBOMScope       = ScopeSquashed
	DefaultScanner         = ScannerGrype
	DefaultFailOn          = SeverityHigh
	DefaultDBMaxAge        = Duration(120 * time.Hour)
)

// Defaults returns what an empty `security: {}` block means: every default
// applied. Signing is off in it, since it needs a signing block.
func Defaults() *Security { return (&Security{}).WithDefaults() }

// WithDefaults returns a deep copy of s with every unset value set to its
// default; s is not changed. A nil s (no security block anywhere) yields a
// configuration with enabled: false, so nothing runs, but whose other
// values are still filled in.
func (s *Security) WithDefaults() *Security {
	c := s.Clone()
	if c == nil {
		c = &Security{Enabled: new(false)}
	}
	setBool(&c.Enabled, true)

	if c.Signing == nil {
		c.Signing = &Signing{Enabled: new(false)}
	}
	sg := c.Signing
	setBool(&sg.Enabled, true)
	setBool(&sg.Keyless, false)
	setBool(&sg.Required, true)
	setBool(&sg.TlogUpload, true)
	setString(&sg.FulcioURL, DefaultFulcioURL)
	setString(&sg.RekorURL, DefaultRekorURL)
	setString(&sg.Format, DefaultSignatureFormat)
	setBool(&sg.Recursive, true)
	if sg.Verify == nil {
		sg.Verify = &Verify{}
	}
	setBool(&sg.Verify.Enabled, true)

	if c.SBOM == nil {
		c.SBOM = &SBOM{}
	}
	setBool(&c.SBOM.Enabled, true)
	setString(&c.SBOM.Format, DefaultSBOMFormat)
	setBool(&c.SBOM.Attach, true)
	setBool(&c.SBOM.Required, false)
	setString(&c.SBOM.Scope, DefaultSBOMScope)

	if c.Provenance == nil {
		c.Provenance = &Provenance{}
	}
	p := c.Provenance
	setBool(&p.Enabled, true)
	setBool(&p.IncludeGit, true)
	setBool(&p.IncludeDockerfile, true)
	setBool(&p.Required, false)
	if p.Builder == nil {
		p.Builder = &Builder{}
	}

	if c.Scan == nil {
		c.Scan = &Scan{}
	}
	sc := c.Scan
	setBool(&sc.Enabled, true)
	if sc.Tools == nil {
		sc.Tools = []Tool{{Name: DefaultScanner}}
	}
	setString(&sc.FailOn, DefaultFailOn)
	setString(&sc.WarnOn, sc.FailOn.Below())
	setBool(&sc.SoftFail, false)
	setBool(&sc.OnlyFixed, false)
	if sc.DBMaxAge == 0 {
		sc.DBMaxAge = DefaultDBMaxAge
	}
	for i := range sc.Tools {
		t := &sc.Tools[i]
		setBool(&t.Required, false)
		setString(&t.FailOn, sc.FailOn)
		if sc.WarnOn.Rank() >= 0 && sc.WarnOn.Rank() < t.FailOn.Rank() {
			setString(&t.WarnOn, sc.WarnOn)
		}
		setString(&t.WarnOn, t.FailOn.Below())
	}

	if c.Reporting == nil {
		c.Reporting = &Reporting{}
	}
	if dd := c.Reporting.DefectDojo; dd != nil {
		setBool(&dd.AutoCreate, false)
		setBool(&dd.CloseOldFindings, false)
	}
	return c
}

func setBool(p **bool, v bool) {
	if *p == nil {
		*p = new(v)
	}
}

func setString[S ~string](p *S, v S) {
	if *p == "" {
		*p = v
	}
}
