package vulndb

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	v6 "github.com/anchore/grype/grype/db/v6"
)

// Advisory is one vulnerability record for Write: small databases made by
// programs (the sample database, tests), not a feed reader.
type Advisory struct {
	// ID is the vulnerability's identifier: CVE-…, GHSA-…, GO-….
	ID string
	// Provider is the feed the record claims to come from: "debian",
	// "github", "nvd"… It names the record's namespace in match details.
	Provider string
	// Aliases are other identifiers of the same vulnerability (the CVE of
	// a GHSA): grype reports them as related vulnerabilities.
	Aliases []string
	// Severity is a qualitative severity: critical, high, medium, low,
	// negligible or unknown.
	Severity string
	// CVSS are CVSS vectors ("CVSS:3.1/AV:N/…").
	CVSS []string
	// Description describes the vulnerability.
	Description string
	// References are URLs; the first is the record's data source.
	References []string
	// Affected are the affected packages.
	Affected []Affected
}

// Affected is a package affected by an Advisory.
type Affected struct {
	// Ecosystem is syft's package type: "deb", "npm", "go-module", …
	Ecosystem string
	// Name is the package name; for a Linux distribution, the source
	// package's name, as distributions publish their advisories.
	Name string
	// OS is the distribution the record is for; nil for language packages.
	OS *OS
	// VersionType is the version scheme of Constraint: "dpkg", "semver",
	// "go", … (grype's version formats).
	VersionType string
	// Constraint is the affected range ("< 3.0.11-1~deb12u3", ">=
	// 4.0.0, < 4.17.21"); "" for every version.
	Constraint string
	// Fix is the first fixed version, "" for none.
	Fix string
	// FixState is "fixed", "not-fixed" or "wont-fix". Default: "fixed"
	// when Fix is set, else "not-fixed".
	FixState string
}

// OS names a Linux distribution release.
type OS struct {
	// Name is the distribution's ID: "debian", "ubuntu", "alpine".
	Name string
	// MajorVersion and MinorVersion are its version: "12", "".
	MajorVersion string
	MinorVersion string
	// Codename is its codename: "bookworm".
	Codename string
}

// Write creates a grype v6 vulnerability database holding advisories in dir
// (dir/vulnerability.db), with grype's own store writer, as grype's build
// does. The database can be installed with Store.Import (the .db file
// directly, or an archive made of it). dir is created if needed; a database
// already there is replaced.
func Write(ctx context.Context, dir string, advisories ...Advisory) (err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("writing vulnerability database: %w", err)
	}
	w, err := v6.NewWriter(v6.Config{DBDirPath: dir, CacheSizeKiB: 16 * 1024})
	if err != nil {
		return fmt.Errorf("writing vulnerability database in %s: %w", dir, err)
	}
	defer func() {
		if cerr := w.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("writing vulnerability database in %s: %w", dir, cerr)
		}
	}()
	if err := w.SetDBMetadata(); err != nil {
		return fmt.Errorf("writing vulnerability database in %s: %w", dir, err)
	}
	captured := time.Now().UTC().Truncate(time.Second)
	providers := map[string]*v6.Provider{}
	for i := range advisories {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := writeAdvisory(w, &advisories[i], providers, captured); err != nil {
			return fmt.Errorf("writing vulnerability database in %s: %s: %w", dir, advisories[i].ID, err)
		}
	}
	return nil
}

func writeAdvisory(w v6.ReadWriter, a *Advisory, providers map[string]*v6.Provider, captured time.Time) error {
	if a.ID == "" || len(a.Affected) == 0 {
		return errors.New("an advisory needs an ID and an affected package")
	}
	pname := a.Provider
	if pname == "" {
		pname = "sc"
	}
	prov, ok := providers[pname]
	if !ok {
		prov = &v6.Provider{ID: pname, Version: "1", Processor: "sc", DateCaptured: &captured}
		providers[pname] = prov
	}
	blob := &v6.VulnerabilityBlob{
		ID:          a.ID,
		Description: a.Description,
		Aliases:     a.Aliases,
	}
	for _, u := range a.References {
		blob.References = append(blob.References, v6.Reference{URL: u})
	}
	if a.Severity != "" {
		blob.Severities = append(blob.Severities, v6.Severity{Scheme: v6.SeveritySchemeCHMLN, Value: strings.ToLower(a.Severity), Rank: 1})
	}
	for _, v := range a.CVSS {
		version := ""
		if rest, ok := strings.CutPrefix(v, "CVSS:"); ok {
			version, _, _ = strings.Cut(rest, "/")
		}
		blob.Severities = append(blob.Severities, v6.Severity{Scheme: v6.SeveritySchemeCVSS, Value: v6.CVSSSeverity{Vector: v, Version: version}, Rank: 2})
	}
	vuln := &v6.VulnerabilityHandle{
		Name:       a.ID,
		Status:     v6.VulnerabilityActive,
		ProviderID: pname,
		Provider:   prov,
		BlobValue:  blob,
	}
	if err := w.AddVulnerabilities(vuln); err != nil {
		return err
	}
	for _, af := range a.Affected {
		h := &v6.AffectedPackageHandle{
			VulnerabilityID: vuln.ID,
			Package:         &v6.Package{Ecosystem: af.Ecosystem, Name: af.Name},
			BlobValue:       &v6.PackageBlob{Ranges: []v6.Range{affectedRange(af)}},
		}
		if strings.HasPrefix(strings.ToUpper(a.ID), "CVE-") {
			h.BlobValue.CVEs = []string{a.ID}
		}
		if af.OS != nil {
			h.OperatingSystem = &v6.OperatingSystem{
				Name:         af.OS.Name,
				ReleaseID:    af.OS.Name,
				MajorVersion: af.OS.MajorVersion,
				MinorVersion: af.OS.MinorVersion,
				Codename:     af.OS.Codename,
			}
		}
		if err := w.AddAffectedPackages(h); err != nil {
			return err
		}
	}
	return nil
}

func affectedRange(af Affected) v6.Range {
	r := v6.Range{Version: v6.Version{Type: af.VersionType, Constraint: af.Constraint}}
	state := v6.FixStatus(af.FixState)
	if state == "" {
		state = v6.NotFixedStatus
		if af.Fix != "" {
			state = v6.FixedStatus
		}
	}
	r.Fix = &v6.Fix{Version: af.Fix, State: state}
	return r
}

// SampleNotice is the text every record of the sample database starts
// with.
const SampleNotice = "SAMPLE DATA — not real vulnerability data."

// SampleAdvisories returns the records of the sample database: a handful of
// made-up advisories, each described as SampleNotice, that match packages of
// sc's fixture image (internal/fixture) — Debian 12 openssl, zlib and curl,
// npm lodash and minimist, the Go module golang.org/x/text — so that the
// quickstart shows findings offline. The IDs are in the reserved
// CVE-0000-… range and none of this describes a real vulnerability.
func SampleAdvisories() []Advisory {
	bookworm := &OS{Name: "debian", MajorVersion: "12", Codename: "bookworm"}
	desc := func(s string) string { return SampleNotice + " " + s }
	return []Advisory{
		{
			ID: "CVE-0000-0001", Provider: "sample", Severity: "high",
			Description: desc("A made-up flaw in OpenSSL, fixed in a made-up Debian update."),
			References:  []string{"https://example.invalid/sample/CVE-0000-0001"},
			Affected: []Affected{{Ecosystem: "deb", Name: "openssl", OS: bookworm, VersionType: "dpkg",
				Constraint: "< 3.0.11-1~deb12u3", Fix: "3.0.11-1~deb12u3"}},
		},
		{
			ID: "CVE-0000-0002", Provider: "sample", Severity: "medium",
			Description: desc("A made-up flaw in zlib that no Debian update fixes."),
			References:  []string{"https://example.invalid/sample/CVE-0000-0002"},
			Affected:    []Affected{{Ecosystem: "deb", Name: "zlib", OS: bookworm, VersionType: "dpkg"}},
		},
		{
			ID: "CVE-0000-0003", Provider: "sample", Severity: "low",
			Description: desc("A made-up flaw in curl, fixed in a made-up Debian update."),
			References:  []string{"https://example.invalid/sample/CVE-0000-0003"},
			Affected: []Affected{{Ecosystem: "deb", Name: "curl", OS: bookworm, VersionType: "dpkg",
				Constraint: "< 7.88.1-10+deb12u6", Fix: "7.88.1-10+deb12u6"}},
		},
		{
			ID: "GHSA-0000-0000-0001", Provider: "sample", Severity: "critical", Aliases: []string{"CVE-0000-0004"},
			Description: desc("A made-up prototype pollution in lodash."),
			References:  []string{"https://example.invalid/sample/GHSA-0000-0000-0001"},
			CVSS:        []string{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
			Affected: []Affected{{Ecosystem: "npm", Name: "lodash", VersionType: "semver",
				Constraint: "< 4.17.21", Fix: "4.17.21"}},
		},
		{
			ID: "GHSA-0000-0000-0002", Provider: "sample", Severity: "medium", Aliases: []string{"CVE-0000-0005"},
			Description: desc("A made-up flaw in minimist."),
			References:  []string{"https://example.invalid/sample/GHSA-0000-0000-0002"},
			Affected: []Affected{{Ecosystem: "npm", Name: "minimist", VersionType: "semver",
				Constraint: ">= 1.0.0, < 1.2.6", Fix: "1.2.6"}},
		},
		{
			ID: "GO-0000-0001", Provider: "sample", Severity: "low", Aliases: []string{"CVE-0000-0006"},
			Description: desc("A made-up flaw in golang.org/x/text."),
			References:  []string{"https://example.invalid/sample/GO-0000-0001"},
			Affected: []Affected{{Ecosystem: "go-module", Name: "golang.org/x/text", VersionType: "go",
				Constraint: "< 0.44.0", Fix: "0.44.0"}},
		},
	}
}

// WriteSample writes the sample database (SampleAdvisories) to
// dir/vulnerability.db and returns that path, ready for Store.Import. It
// needs no network: it is how sc's quickstart scans offline.
func WriteSample(ctx context.Context, dir string) (string, error) {
	if err := Write(ctx, dir, SampleAdvisories()...); err != nil {
		return "", err
	}
	return filepath.Join(dir, v6.VulnerabilityDBFileName), nil
}
