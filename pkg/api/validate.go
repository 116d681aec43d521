package api

import (
	"fmt"
	"net"
	"net/url"
	"path"
	"regexp"
	"strings"
)

// platformRE is os/arch[/variant] as `docker --platform` takes it.
var platformRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*/[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)?$`)

// issue is a problem found by a check, with a path relative to the
// security block it was found in.
type issue struct{ path, msg string }

type checks struct{ list []issue }

func (c *checks) add(path, format string, args ...any) {
	c.list = append(c.list, issue{path: path, msg: fmt.Sprintf(format, args...)})
}

// Validate checks s as the complete configuration of one image: the values
// one block can get wrong on its own (unknown formats, tools or severities,
// ignore rules without a reason, malformed URLs) and the combinations that
// cannot work (key-based signing without a key, keyless verification
// without an identity, a warnOn that can never fire, DefectDojo without a
// URL or key). Checks of combinations treat unset values as their
// defaults, and skip steps that are off. Validate does not change s. The
// error is a *ValidationError.
func (s *Security) Validate() error {
	if s == nil {
		return nil
	}
	var c checks
	s.checkValues(&c)
	s.WithDefaults().checkCombinations(&c)
	var ps problems
	for _, is := range c.list {
		ps.add(Problem{Path: is.path, Message: is.msg})
	}
	return ps.err()
}

// msgKMS refuses a key URI of a scheme sc does not sign or verify with.
const msgKMS = "%s keys are not supported: sc signs and verifies with awskms:// and hashivault:// KMS keys, a cosign key file, ${env:…}/${file:…} holding the PEM key, or keyless: true"

const msgKeylessAndKey = "set either keyless: true or privateKey, not both (a child that sets privateKey under a keyless parent must also set keyless: false)"

// checkValues checks what one block, on its own, can get wrong.
func (s *Security) checkValues(c *checks) {
	if sg := s.Signing; sg != nil {
		if sg.Format != "" && !sg.Format.Valid() {
			c.add("signing.format", "%s", unknownValue("signature format", sg.Format, signatureFormats()))
		}
		if sg.IsKeyless() && !sg.PrivateKey.IsZero() {
			c.add("signing", msgKeylessAndKey)
		}
		checkURL(c, "signing.fulcioURL", sg.FulcioURL)
		checkURL(c, "signing.rekorURL", sg.RekorURL)
		checkURL(c, "signing.tsaURL", sg.TSAURL)
		if v := sg.Verify; v != nil {
			checkURL(c, "signing.verify.oidcIssuer", v.OIDCIssuer)
			if v.IdentityRegexp != "" {
				if _, err := regexp.Compile(v.IdentityRegexp); err != nil {
					c.add("signing.verify.identityRegexp", "not a valid regular expression: %s", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
				} else if err := CheckAnchored(v.IdentityRegexp); err != nil {
					c.add("signing.verify.identityRegexp", "%s", err)
				}
			}
			if v.Identity != "" && v.IdentityRegexp != "" {
				c.add("signing.verify", "set either identity or identityRegexp, not both")
			}
		}
		for k := range sg.Annotations {
			if strings.TrimSpace(k) == "" {
				c.add("signing.annotations", "annotation keys must not be empty")
			}
		}
	}
	if sb := s.SBOM; sb != nil {
		if sb.Format != "" && !sb.Format.Valid() {
			c.add("sbom.format", "%s", unknownValue("SBOM format", sb.Format, sbomFormats()))
		}
		if sb.Scope != "" && !sb.Scope.Valid() {
			c.add("sbom.scope", "%s", unknownValue("SBOM scope", sb.Scope, sbomScopes()))
		}
	}
	if p := s.Provenance; p != nil {
		if p.Builder != nil && p.Builder.ID != "" {
			if u, err := url.Parse(p.Builder.ID); err != nil || u.Scheme == "" {
				c.add("provenance.builder.id", "builder id must be a URI, such as https://github.com/OWNER/REPO/.github/workflows/release.yml@refs/heads/main")
			}
		}
		seen := map[string]bool{}
		for i, a := range p.BuildArgs {
			at := fmt.Sprintf("provenance.buildArgs[%d]", i)
			switch {
			case !envNameRE.MatchString(a):
				c.add(at, "build argument names are letters, digits and _, not starting with a digit; got %q", a)
			case seen[a]:
				c.add(at, "build argument `%s` is listed twice", a)
			}
			seen[a] = true
		}
	}
	if sc := s.Scan; sc != nil {
		checkSeverity(c, "scan.failOn", sc.FailOn)
		checkSeverity(c, "scan.warnOn", sc.WarnOn)
		seen := map[Scanner]bool{}
		for i, t := range sc.Tools {
			at := fmt.Sprintf("scan.tools[%d]", i)
			switch {
			case t.Name == "":
				c.add(at, "tool needs a name: grype or trivy")
			case !t.Name.Valid():
				c.add(at+".name", "%s", unknownValue("tool", t.Name, scanners()))
			case seen[t.Name]:
				c.add(at+".name", "tool `%s` is listed twice", t.Name)
			}
			seen[t.Name] = true
			if t.Path != "" && t.Name != ScannerTrivy {
				c.add(at+".path", "path is only used for trivy; grype runs inside sc")
			}
			checkSeverity(c, at+".failOn", t.FailOn)
			checkSeverity(c, at+".warnOn", t.WarnOn)
		}
		for i, r := range sc.Ignore {
			at := fmt.Sprintf("scan.ignore[%d]", i)
			switch {
			case strings.TrimSpace(r.ID) == "":
				c.add(at, "ignore rule needs an id (CVE-…, GHSA-…)")
			case strings.ContainsAny(r.ID, " \t\n"):
				c.add(at+".id", "id must be one vulnerability ID, without spaces")
			}
			if strings.TrimSpace(r.Reason) == "" {
				what := "ignore rule"
				if r.ID != "" {
					what += " for `" + r.ID + "`"
				}
				c.add(at, "%s needs a reason: say why the finding is accepted", what)
			}
			if r.Package != "" {
				if _, err := path.Match(r.Package, ""); err != nil {
					c.add(at+".package", "not a valid glob pattern")
				}
			}
		}
		for i, v := range sc.VEX {
			if strings.TrimSpace(v) == "" {
				c.add(fmt.Sprintf("scan.vex[%d]", i), "vex paths must not be empty")
			}
		}
	}
	seenPlatform := map[string]bool{}
	for i, p := range s.Platforms {
		at := fmt.Sprintf("platforms[%d]", i)
		switch {
		case !platformRE.MatchString(p):
			c.add(at, "a platform is os/arch or os/arch/variant, such as linux/amd64 or linux/arm/v7; got %q", p)
		case strings.HasPrefix(p, "unknown/unknown"):
			c.add(at, "unknown/unknown marks the build attestation manifests buildx adds to an index, not a platform image")
		case seenPlatform[p]:
			c.add(at, "platform `%s` is listed twice", p)
		}
		seenPlatform[p] = true
	}
	if r := s.Reporting; r != nil && r.DefectDojo != nil {
		dd := r.DefectDojo
		checkURL(c, "reporting.defectdojo.url", dd.URL)
		if dd.ProductID < 0 {
			c.add("reporting.defectdojo.productID", "must be a positive number")
		}
		if dd.EngagementID < 0 {
			c.add("reporting.defectdojo.engagementID", "must be a positive number")
		}
	}
}

// checkCombinations checks a merged configuration with defaults applied for
// settings that cannot work together.
func (s *Security) checkCombinations(c *checks) {
	if !s.Active() {
		return
	}
	if s.SigningEnabled() {
		sg := s.Signing
		switch {
		case sg.IsKeyless():
			if !sg.PrivateKey.IsZero() {
				c.add("signing", msgKeylessAndKey)
			}
			if s.VerifyEnabled() && (sg.Verify.OIDCIssuer == "" || (sg.Verify.Identity == "" && sg.Verify.IdentityRegexp == "")) {
				c.add("signing.verify", "keyless verification needs oidcIssuer and identity or identityRegexp, the signer a verifier must expect; set them, or verify.enabled: false")
			}
			if !boolOr(sg.TlogUpload, true) && sg.TSAURL == "" {
				c.add("signing.tlogUpload", "keyless signing with tlogUpload: false needs tsaURL: a short-lived certificate only verifies against a trusted timestamp")
			}
		case sg.PrivateKey.IsZero():
			c.add("signing", "key-based signing needs privateKey (a key file, or ${env:…}/${file:…} holding the PEM key); or set keyless: true")
		case sg.PrivateKey.IsKMS() && !IsSupportedKMS(sg.PrivateKey.String()):
			c.add("signing.privateKey", msgKMS, uriScheme(sg.PrivateKey.String()))
		}
		if isURI(sg.PublicKey) && !IsSupportedKMS(sg.PublicKey) {
			c.add("signing.publicKey", msgKMS, uriScheme(sg.PublicKey))
		}
	}
	if s.SBOMEnabled() && !boolOr(s.SBOM.Attach, true) && s.SBOM.Output == "" {
		c.add("sbom", "the SBOM would be neither attached (attach: false) nor written (no output); set one of them, or enabled: false")
	}
	if s.ScanEnabled() {
		if len(s.Scan.Tools) == 0 {
			c.add("scan.tools", "scan is enabled but lists no tools")
		}
		checkThresholds(c, "scan", s.Scan.WarnOn, s.Scan.FailOn)
		for i, t := range s.Scan.Tools {
			checkThresholds(c, fmt.Sprintf("scan.tools[%d]", i), t.WarnOn, t.FailOn)
		}
	}
	if s.Reporting != nil && s.Reporting.DefectDojo != nil {
		dd := s.Reporting.DefectDojo
		const at = "reporting.defectdojo"
		if dd.URL == "" {
			c.add(at, "defectdojo needs url")
		}
		if dd.APIKey.IsZero() {
			c.add(at, "defectdojo needs apiKey (write ${env:NAME} or ${file:PATH})")
		}
		if dd.EngagementID == 0 && (dd.EngagementName == "" || (dd.ProductName == "" && dd.ProductID == 0)) {
			c.add(at, "defectdojo needs engagementID, or engagementName with productName or productID")
		}
		if boolOr(dd.AutoCreate, false) && (dd.ProductName == "" || dd.EngagementName == "") {
			c.add(at+".autoCreate", "autoCreate needs productName and engagementName")
		}
	}
}

// checkThresholds flags a warnOn at or above failOn: every finding that
// reaches it already fails, so the warning could never fire.
func checkThresholds(c *checks, at string, warn, fail Severity) {
	if warn.Valid() && fail.Valid() && warn.Rank() >= fail.Rank() {
		c.add(at+".warnOn", "warnOn %s is at or above failOn %s, so it could never fire: findings at %s already fail; set warnOn below failOn", warn, fail, warn)
	}
}

func checkSeverity(c *checks, at string, s Severity) {
	if s != "" && !s.Valid() {
		c.add(at, "%s", unknownValue("severity", s, severitiesDesc()))
	}
}

func unknownValue[T ~string](what string, got T, valid []T) string {
	names := make([]string, len(valid))
	for i, v := range valid {
		names[i] = string(v)
	}
	msg := fmt.Sprintf("unknown %s `%s`", what, got)
	if s := suggest(string(got), names); s != "" {
		msg += fmt.Sprintf("; did you mean `%s`?", s)
	}
	return msg + " (valid: " + strings.Join(names, ", ") + ")"
}

func joinValues[T ~string](vs []T) string {
	names := make([]string, len(vs))
	for i, v := range vs {
		names[i] = string(v)
	}
	return strings.Join(names, ", ")
}

// checkURL accepts an absolute https URL, or http for a loopback host
// (local test services).
func checkURL(c *checks, at, raw string) {
	if raw == "" {
		return
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		c.add(at, "expected an absolute https URL such as https://host/path")
	case u.User != nil:
		c.add(at, "credentials do not belong in a URL; remove them")
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		c.add(at, "use https: http is only allowed for localhost")
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
