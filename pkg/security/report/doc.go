// Package report renders scan results for a terminal and for the systems
// around a pipeline: the table and JSON `sc image scan` prints, GitHub code
// scanning (SARIF 2.1.0), a GitHub job summary and pull-request comment
// (markdown), and a JSON document of several images. Its subpackage
// defectdojo uploads the SARIF to DefectDojo; its subpackage release
// renders the result of a whole release (the table, JSON and job summary
// of `sc release create`), and is the one of the three that links the
// executor.
//
// Every renderer takes the results of one or many images (one for `sc image
// scan`, many for a release) and writes them to an io.Writer in a stable
// order, so that output can be kept as golden files and compared between
// runs. Where output goes is the caller's choice: sc's commands pass the
// file of $GITHUB_STEP_SUMMARY in; nothing here reads the environment.
//
// # Terminal
//
// WriteTable writes one image's result as a table: the scanners, the
// counted findings (most severe first), what was set aside and why, the
// notices, the counts and the verdict with its thresholds. WriteResultJSON
// writes the result as JSON, in the schema of package scan.
//
// # SARIF
//
// WriteSARIF writes one run per image, built with go-sarif. Each run's tool
// driver is "sc"; the scanners that contributed (grype, Trivy) are the
// tool's extensions, because sc merges their findings into one list and a
// vulnerability found by both is one result, not two alerts. GitHub merges
// uploads by tool name and category: each run carries its own category in
// runAutomationDetails.id ("sc/<repository>/"), so that the images of a
// release stay separate analyses that close their own fixed alerts. Do not
// pass a category to the upload action for a file of several images: it
// would give every run the same category, which GitHub rejects.
//
// Rules are vulnerabilities (the rule ID is the CVE, or the scanner's ID),
// with the CVSS-like "security-severity" and the tags GitHub sorts by. The
// security-severity agrees with sc's severity: the highest CVSS base score
// in that severity's band, else the band's middle. GitHub and DefectDojo
// read it from the rule, so a vulnerability that sc rates high in one
// package and critical in another shows as critical for both; each
// result's level is its own (error at high and above, warning at medium,
// note below).
// Results are one per vulnerable package, at the package's files in the
// image (var/lib/dpkg/status, app/package-lock.json, …) or at the image's
// repository when the scanner gave none, with partial fingerprints that stay
// the same across builds of the image. Findings the policy set aside (an
// ignore rule, a VEX statement, onlyFixed) are results too, each with a
// SARIF suppression (kind external, status accepted, the rule's reason or
// the VEX statement as its justification), which GitHub code scanning shows
// as dismissed; the run's properties also list them with the reason.
// WithoutSuppressed leaves them out of the results, as the DefectDojo
// upload does, so that DefectDojo does not open them. GitHub's limits are
// kept: at most 20 runs (ErrTooManyImages beyond), 100 locations a result.
//
// A platform image of an image index (scan.Result.Platform set) is a run of
// its own, category "sc/<repository>/<os>/<arch>[/<variant>]/", whose
// results and locations name the platform and whose fingerprints include
// it: a vulnerability in two platforms is two alerts, one per platform.
//
// # CycloneDX
//
// WriteCycloneDX writes one image's result as a CycloneDX 1.6 vulnerability
// document (what CycloneDX calls VEX), built with cyclonedx-go: the image as
// the metadata component, each affected package as a component, and one
// vulnerability per finding, counted ones first, with sc's severity and the
// CVSS scores as ratings, the fix as a recommendation and, for a finding set
// aside, the analysis of the VEX statement (not_affected with its
// justification in CycloneDX's words, resolved) or the rule that set it
// aside.
//
// # Markdown
//
// WriteSummary writes the report for $GITHUB_STEP_SUMMARY: per image, the
// verdict as a plain word (PASS, WARN, FAIL), counts by severity, the most
// severe findings, what was set aside and why, and the notices. The
// platform images of an index (consecutive results of one repository with
// a Platform) are shown per platform, and the findings every one of them
// has are listed once, before the platforms. WritePRComment
// writes a compact variant that starts with PRCommentMarker, so that a bot can
// find and update its own comment.
//
// # What it does not do
//
// It does not scan, apply policy or decide verdicts (package scan does), and
// it does not talk to GitHub: uploading SARIF and posting comments are the
// pipeline's job. It does not write files or choose them: callers give a
// writer.
package report
