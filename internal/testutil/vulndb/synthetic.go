package vulndb

import (
	_ "embed"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/sc-project/sc/pkg/security/scan/vulndb"
)

// Package names the synthetic records are about, real names of their
// ecosystems (one a line): Debian packages (source and binary names of
// Debian 12 images), npm's most downloaded packages, and Go modules.
var (
	//go:embed testdata/names-deb.txt
	debNames string
	//go:embed testdata/names-npm.txt
	npmNames string
	//go:embed testdata/names-go.txt
	goNames string
)

// SyntheticRecords is the size of the full-size database of the benchmarks:
// in the order of grype's published one.
const SyntheticRecords = 300_000

// Synthetic returns n made-up advisories shaped like grype's real
// database, the same n every call (a fixed seed): 60% Debian 12 records
// (95% fixed in a "+deb12uN" update, the others not fixed or won't fix,
// which match every installed version), most fixes, as in the
// real feeds, older than what a current image installs (a 0.x version;
// one in twenty is any version up to 5.x), 25% npm and 15% Go
// module records with GHSA or GO identifiers and CVE aliases, with ranges
// of the forms the feeds use ("< 1.2.3", ">= 1.0.0, < 1.2.6"). Their
// package names are real names of each ecosystem, drawn with a skew so
// that a few packages carry hundreds of records (as linux, openssl or
// lodash do) and most carry a few; the fixture image's packages are among
// them. Every description says the record is synthetic; the IDs are in
// the CVE-…-1nnnnnn range, which no real record uses.
//
// Synthetic does not include FixtureAdvisories: add them for matches whose
// result a test knows.
func Synthetic(n int) []vulndb.Advisory {
	rng := rand.New(rand.NewPCG(16, 300_000))
	deb := shuffled(rng, debNames)
	npm := shuffled(rng, npmNames)
	gom := shuffled(rng, goNames)
	zipf := func(names []string) func() string {
		z := rand.NewZipf(rng, 1.2, 40, uint64(len(names)-1))
		return func() string { return names[z.Uint64()] }
	}
	pickDeb, pickNpm, pickGo := zipf(deb), zipf(npm), zipf(gom)
	bookworm := &vulndb.OS{Name: "debian", MajorVersion: "12", Codename: "bookworm"}
	severities := []string{"critical", "high", "high", "medium", "medium", "medium", "low", "low", "negligible", "unknown"}
	vectors := []string{
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
		"CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:L/A:N",
		"CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N",
	}

	out := make([]vulndb.Advisory, 0, n)
	for i := range n {
		year := 2005 + rng.IntN(22)
		cve := fmt.Sprintf("CVE-%d-%d", year, 1_000_000+i)
		a := vulndb.Advisory{
			Severity:    severities[rng.IntN(len(severities))],
			Description: fmt.Sprintf("Synthetic benchmark record %d: not real vulnerability data.", i),
		}
		if rng.IntN(3) == 0 {
			a.CVSS = []string{vectors[rng.IntN(len(vectors))]}
		}
		switch r := rng.IntN(20); {
		case r < 12:
			name := pickDeb()
			a.ID, a.Provider = cve, "debian"
			a.References = []string{"https://security-tracker.debian.org/tracker/" + cve}
			af := vulndb.Affected{Ecosystem: "deb", Name: name, OS: bookworm, VersionType: "dpkg"}
			maj, mnr, pat := semver(rng)
			switch s := rng.IntN(100); {
			case s < 95:
				recent := rng.IntN(20) == 0
				if !recent {
					maj = 0 // fixed long ago: below what an image has
				}
				af.Fix = fmt.Sprintf("%d.%d.%d-%d+deb12u%d", maj, mnr, pat, 1+rng.IntN(5), 1+rng.IntN(4))
				// an epoch outranks any version without one: only a
				// recent fix has one, as only some packages do
				if epoch := rng.IntN(4) == 0; epoch && recent {
					af.Fix = fmt.Sprintf("%d:%s", 1+rng.IntN(2), af.Fix)
				}
				af.Constraint = "< " + af.Fix
			case s < 99:
				af.FixState = "not-fixed"
			default:
				af.FixState = "wont-fix"
			}
			a.Affected = []vulndb.Affected{af}
		case r < 17:
			name := pickNpm()
			a.ID, a.Provider = ghsa(rng), "github"
			a.References = []string{"https://github.com/advisories/" + a.ID}
			a.Affected = []vulndb.Affected{langAffected(rng, "npm", "semver", name)}
			a.Aliases = []string{cve}
		default:
			name := pickGo()
			a.ID, a.Provider = fmt.Sprintf("GO-%d-%d", year, 100_000+i), "govulndb"
			a.References = []string{"https://pkg.go.dev/vuln/" + a.ID}
			a.Affected = []vulndb.Affected{langAffected(rng, "go-module", "go", name)}
			a.Aliases = []string{cve}
		}
		out = append(out, a)
	}
	return out
}

// langAffected is a language package's record, fixed, with a range that
// ends at the fix: all earlier versions, or those of the fix's major (or
// minor) line only.
func langAffected(rng *rand.Rand, eco, vtype, name string) vulndb.Affected {
	maj, mnr, pat := semver(rng)
	if rng.IntN(20) != 0 {
		maj = 0 // fixed long ago: below what an image has
	}
	af := vulndb.Affected{Ecosystem: eco, Name: name, VersionType: vtype,
		Fix: fmt.Sprintf("%d.%d.%d", maj, mnr, pat+1)}
	switch rng.IntN(3) {
	case 0:
		af.Constraint = "< " + af.Fix
	case 1:
		af.Constraint = fmt.Sprintf(">= %d.0.0, < %s", maj, af.Fix)
	default:
		af.Constraint = fmt.Sprintf(">= %d.%d.0, < %s", maj, mnr, af.Fix)
	}
	return af
}

// semver is a version's major, minor and patch numbers.
func semver(rng *rand.Rand) (int, int, int) { return rng.IntN(6), rng.IntN(30), rng.IntN(20) }

// ghsa is a GitHub advisory identifier, GHSA-xxxx-xxxx-xxxx.
func ghsa(rng *rand.Rand) string {
	const alphabet = "23456789cfghjmpqrvwx"
	var b strings.Builder
	b.WriteString("GHSA")
	for range 3 {
		b.WriteByte('-')
		for range 4 {
			b.WriteByte(alphabet[rng.IntN(len(alphabet))])
		}
	}
	return b.String()
}

// shuffled is the names of list, one a line, in an order drawn from rng,
// so that the skew of the draws does not follow the alphabet.
func shuffled(rng *rand.Rand, list string) []string {
	names := strings.Fields(list)
	rng.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	return names
}
