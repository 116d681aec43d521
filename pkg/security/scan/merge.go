package scan

import (
	"cmp"
	"slices"
	"strings"
)

// Merge combines the findings of several scanners into one list without
// duplicates. Two findings are the same when they are in the same package
// (name and version) and share an identifier: the ID of one is the ID or an
// alias of the other (a grype GHSA-… with the related CVE-… that Trivy
// reports, or a Debian CVE both report). The merged finding keeps:
//
//   - the ID: a CVE when any of the identifiers is one (the smallest, when
//     several), else the first scanner's ID; every other identifier becomes
//     an alias;
//   - the highest severity any scanner gave;
//   - the union of fixed versions, CVSS scores, URLs and locations, and the
//     "fixed" state when any scanner knows of a fix;
//   - the union of CWEs, EPSS scores, KEV entries, advisories, CPEs,
//     related records (by ID) and match details, and the highest risk;
//   - every scanner that found it, in FoundBy.
//
// Fields that cannot be combined (description, data source, namespace,
// package type, language and PURL) come from the first report that has
// them: pass grype's report first. The result is sorted most severe first, then by ID and package.
func Merge(reports ...*Report) []Match {
	type group struct {
		matches []Match
	}
	var order []string
	groups := map[string]*group{}
	for _, r := range reports {
		if r == nil {
			continue
		}
		for _, m := range r.Matches {
			if len(m.FoundBy) == 0 && r.Scanner.Name != "" {
				m.FoundBy = []string{r.Scanner.Name}
			}
			k := strings.ToLower(m.Package.Name) + "\x00" + m.Package.Version
			g, ok := groups[k]
			if !ok {
				g = &group{}
				groups[k] = g
				order = append(order, k)
			}
			g.matches = append(g.matches, m)
		}
	}

	var out []Match
	for _, k := range order {
		for _, set := range connected(groups[k].matches) {
			out = append(out, combine(set))
		}
	}
	sortMatches(out)
	return out
}

// connected splits matches of one package into sets that share an
// identifier, transitively, keeping their order.
func connected(ms []Match) [][]Match {
	parent := make([]int, len(ms))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	owner := map[string]int{}
	for i := range ms {
		for _, id := range ms[i].identities() {
			id = strings.ToUpper(id)
			if j, ok := owner[id]; ok {
				a, b := find(i), find(j)
				if a != b {
					parent[max(a, b)] = min(a, b)
				}
				continue
			}
			owner[id] = i
		}
	}
	var roots []int
	sets := map[int][]Match{}
	for i := range ms {
		r := find(i)
		if _, ok := sets[r]; !ok {
			roots = append(roots, r)
		}
		sets[r] = append(sets[r], ms[i])
	}
	out := make([][]Match, 0, len(roots))
	for _, r := range roots {
		out = append(out, sets[r])
	}
	return out
}

// combine merges matches of the same vulnerability in the same package.
func combine(ms []Match) Match {
	out := ms[0]
	out.Aliases = nil
	out.CVSS = nil
	out.URLs = nil
	out.FoundBy = nil
	out.Fix = Fix{}
	out.Package.Locations = nil
	out.Package.CPEs = nil
	out.CWEs, out.EPSS, out.KnownExploited, out.Advisories = nil, nil, nil, nil
	out.RelatedVulnerabilities, out.MatchDetails = nil, nil

	var ids []string
	seenID := map[string]bool{}
	addID := func(id string) {
		id = strings.TrimSpace(id)
		if id == "" || seenID[strings.ToUpper(id)] {
			return
		}
		seenID[strings.ToUpper(id)] = true
		ids = append(ids, id)
	}
	state := FixStateUnknown
	for _, m := range ms {
		for _, id := range m.identities() {
			addID(id)
		}
		if m.Severity.Rank() > out.Severity.Rank() {
			out.Severity = m.Severity
		}
		for _, c := range m.CVSS {
			if !slices.Contains(out.CVSS, c) {
				out.CVSS = append(out.CVSS, c)
			}
		}
		if out.Description == "" {
			out.Description = m.Description
		}
		if out.DataSource == "" {
			out.DataSource = m.DataSource
		}
		out.URLs = appendNew(out.URLs, m.URLs...)
		if out.Package.Type == "" {
			out.Package.Type = m.Package.Type
		}
		if out.Package.PURL == "" {
			out.Package.PURL = m.Package.PURL
		}
		out.Package.Locations = appendNew(out.Package.Locations, m.Package.Locations...)
		out.Fix.Versions = appendNew(out.Fix.Versions, m.Fix.Versions...)
		switch {
		case m.Fix.State == FixStateFixed || len(m.Fix.Versions) > 0:
			state = FixStateFixed
		case state == FixStateUnknown && m.Fix.State != "":
			state = m.Fix.State
		}
		out.FoundBy = appendNew(out.FoundBy, m.FoundBy...)
		if out.VEX == nil {
			out.VEX = m.VEX
		}
		if out.Namespace == "" {
			out.Namespace = m.Namespace
		}
		if out.Package.Language == "" {
			out.Package.Language = m.Package.Language
		}
		out.Package.CPEs = appendNew(out.Package.CPEs, m.Package.CPEs...)
		out.CWEs = appendComparable(out.CWEs, m.CWEs...)
		out.EPSS = appendComparable(out.EPSS, m.EPSS...)
		out.Advisories = appendComparable(out.Advisories, m.Advisories...)
		for _, k := range m.KnownExploited {
			if !slices.ContainsFunc(out.KnownExploited, func(e KnownExploited) bool { return e.CVE == k.CVE }) {
				out.KnownExploited = append(out.KnownExploited, k)
			}
		}
		for _, r := range m.RelatedVulnerabilities {
			if !slices.ContainsFunc(out.RelatedVulnerabilities, func(e RelatedVulnerability) bool { return strings.EqualFold(e.ID, r.ID) }) {
				out.RelatedVulnerabilities = append(out.RelatedVulnerabilities, r)
			}
		}
		out.MatchDetails = append(out.MatchDetails, m.MatchDetails...)
		out.Risk = max(out.Risk, m.Risk)
	}
	out.Fix.State = state
	if out.Severity == "" {
		out.Severity = Unknown
	}
	slices.Sort(out.FoundBy)

	out.ID = ids[0]
	var cves []string
	for _, id := range ids {
		if strings.HasPrefix(strings.ToUpper(id), "CVE-") {
			cves = append(cves, id)
		}
	}
	if len(cves) > 0 {
		slices.Sort(cves)
		out.ID = cves[0]
	}
	for _, id := range ids {
		if !strings.EqualFold(id, out.ID) {
			out.Aliases = append(out.Aliases, id)
		}
	}
	slices.Sort(out.Aliases)
	return out
}

// appendComparable appends the values of vs not in s yet.
func appendComparable[T comparable](s []T, vs ...T) []T {
	for _, v := range vs {
		if !slices.Contains(s, v) {
			s = append(s, v)
		}
	}
	return s
}

// appendNew appends the values of vs not in s yet.
func appendNew(s []string, vs ...string) []string {
	for _, v := range vs {
		if v != "" && !slices.Contains(s, v) {
			s = append(s, v)
		}
	}
	return s
}

// sortMatches orders matches most severe first, then by ID, package name
// and version.
func sortMatches(ms []Match) {
	slices.SortStableFunc(ms, func(a, b Match) int {
		return cmp.Or(
			cmp.Compare(b.Severity.Rank(), a.Severity.Rank()),
			cmp.Compare(a.ID, b.ID),
			cmp.Compare(a.Package.Name, b.Package.Name),
			cmp.Compare(a.Package.Version, b.Package.Version),
		)
	})
}
