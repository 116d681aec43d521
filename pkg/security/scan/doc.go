// Package scan finds known vulnerabilities in an image's SBOM with one or
// more scanners, merges what they found, and applies a policy.
//
// # The pipeline
//
// Run takes an image by digest, its SBOM (the one already made for that
// digest: nothing is pulled or catalogued again) and the scanners to run:
//
//   - grype, in-process, through package vulndb: its DB value is a Scanner
//     over grype's vulnerability database, loaded once per process and
//     shared by every image;
//   - Trivy, optionally, the external trivy executable (0.74 or later) fed
//     the same SBOM as CycloneDX, with a persistent database directory
//     (Trivy). A missing or failing scanner fails the scan when it is
//     Required, and leaves a notice otherwise.
//
// The scanners run at once. Merge then combines their findings: the same
// vulnerability (by ID or alias: grype's GHSA-… with its related CVE-…,
// Trivy's vendor IDs) in the same package and version is one finding, with
// the highest severity, the union of fixed versions and every scanner that
// found it. Evaluate applies the Policy: OpenVEX statements (not_affected
// and fixed suppress), ignore rules (ID or alias, package glob, required
// reason, expiry date), onlyFixed, then the failOn and warnOn thresholds.
// Everything set aside stays in the result with what set it aside.
//
// A policy violation is not an error of Run: Result.Err returns a
// *PolicyError (ErrPolicyViolation, exit code 1) after the result has been
// shown, and never when SoftFail is set. Errors of Run are the scan not
// running (exit code 3) or invalid input (exit code 2).
//
// # The result
//
// Result marshals to this JSON (schemaVersion "1"; fields are added within
// a version, never renamed or removed; times are RFC 3339 UTC; lists are
// [] when empty, never null, except where marked optional):
//
//	{
//	  "schemaVersion": "1",
//	  "image": "registry.example/shop@sha256:…",   // scanned image, by digest
//	  "digest": "sha256:…",
//	  "platform": "linux/arm64",                   // a platform image of an index; else absent
//	  "scannedAt": "2026-11-20T10:00:00Z",         // when matched: a cached report keeps its time
//	  "cached": true,                              // optional: a report was replayed from the cache
//	  "scanners": [                                // those whose findings are in
//	    {"name": "grype", "version": "v0.121.2",
//	     "db": {"built": "…", "schema": "v6.1.10", "source": "https://…|manual import", "stale": false},
//	     "scannedAt": "…", "cached": true},        // optional: when its report was made; replayed
//	    {"name": "trivy", "version": "0.74.0", "db": {"built": "…", "schema": "2", "source": "trivy-db"}}
//	  ],
//	  "matches": [                                 // counted findings, most severe first
//	    {
//	      "id": "CVE-2024-…",                      // a CVE when any scanner/alias names one
//	      "aliases": ["GHSA-…"],                   // optional
//	      "severity": "critical|high|medium|low|negligible|unknown",
//	      "cvss": [{"source": "nvd", "version": "3.1", "type": "Primary", "vector": "CVSS:3.1/…", "baseScore": 9.8,
//	                "exploitabilityScore": 3.9, "impactScore": 5.9}], // optional
//	      "description": "…",                      // optional
//	      "package": {"name": "libssl3", "version": "3.0.11-1~deb12u2", "type": "deb",
//	                  "purl": "pkg:deb/debian/libssl3@…", "locations": ["/var/lib/dpkg/status"],
//	                  "language": "", "cpes": ["cpe:2.3:…"]},  // language, cpes optional
//	      "fix": {"state": "fixed|not-fixed|wont-fix|unknown", "versions": ["3.0.11-1~deb12u3"]},
//	      "dataSource": "https://…",               // optional
//	      "urls": ["https://…"],                   // optional
//	      "foundBy": ["grype", "trivy"],
//	      "vex": {…},                              // optional: a statement that did not suppress it
//	      // optional, what grype's JSON carries per match (README: "Scan output for jq users"):
//	      "namespace": "debian:distro:debian:12",
//	      "cwes": [{"cve": "…", "cwe": "CWE-787", "source": "…", "type": "…"}],
//	      "epss": [{"cve": "…", "epss": 0.01, "percentile": 0.5, "date": "YYYY-MM-DD"}],
//	      "knownExploited": [{"cve": "…", "dateAdded": "YYYY-MM-DD", …}],
//	      "risk": 1.2,
//	      "advisories": [{"id": "DSA-…", "link": "https://…"}],
//	      "relatedVulnerabilities": [{"id": "CVE-…", "dataSource": "…", "namespace": "nvd:cpe",
//	                                  "severity": "high", "urls": […], "description": "…", "cvss": […]}],
//	      "matchDetails": [{"type": "exact-indirect-match", "matcher": "dpkg-matcher",
//	                        "searchedBy": {…}, "found": {…}, "suggestedVersion": "…"}]
//	    }
//	  ],
//	  "ignored": [                                 // findings set aside: a match, plus
//	    {…match…, "suppressedBy": {
//	      "kind": "ignore-rule|vex|only-fixed",
//	      "reason": "…",
//	      "rule": {"id": "…", "package": "glob", "reason": "…", "expires": "YYYY-MM-DD"}, // for ignore-rule
//	      "vex": {"document": "@id or file", "author": "…", "vulnerability": "…", "product": "…", "status": "not_affected|fixed",
//	              "justification": "…", "impactStatement": "…", "statusNotes": "…", "timestamp": "…"} // for vex
//	    }}
//	  ],
//	  "counts": {"critical": 1, "high": 2, "medium": 0, "low": 0, "negligible": 0, "unknown": 0,
//	             "total": 3, "ignored": 1},
//	  "verdict": {
//	    "status": "pass|warn|fail",
//	    "failOn": "high", "warnOn": "medium",      // optional: absent means no threshold
//	    "scanners": {"trivy": {"failOn": "critical"}}, // optional per-scanner thresholds
//	    "onlyFixed": false, "softFail": false,
//	    "failing": ["CVE-…"],                      // IDs at or above failOn
//	    "warning": ["CVE-…"],                      // IDs at or above warnOn, below failOn
//	    "failingFindings": 2, "warningFindings": 0 // findings (as counts) at or above failOn; warnOn only
//	  },
//	  "notices": [                                 // how the result was made
//	    {"kind": "expired-ignore-rule|scanner-failed|stale-db", "message": "…",
//	     "scanner": "trivy", "rule": {…}, "ids": ["CVE-…"]}
//	  ]
//	}
//
// Package report renders a Result: this JSON (report.WriteResultJSON), the
// table `sc image scan` prints, SARIF, markdown and DefectDojo uploads.
//
// A finding is one vulnerability in one package, a row of the table (grype
// calls it a match): counts, failingFindings and the messages of every
// output count findings; failing and warning list the vulnerability IDs
// they are of, once each.
//
// # Configuration
//
// PolicyFrom turns the scan block of a security descriptor (api.Scan), or
// `sc image scan`'s flags mapped onto one, into a Policy, reading the VEX
// documents it names: the executor and the command share it.
//
// # What it does not do
//
// It does not generate SBOMs (package sbom does), load sc's configuration
// files (package api does; PolicyFrom takes the parsed block), render
// results (package report does), or manage grype's
// database (package vulndb does; this package does not link grype or
// syft, so that reports and policies cost little to build and test). It
// never writes to stdout or stderr; Trivy's output is captured, and its
// standard error only surfaces in errors.
package scan
