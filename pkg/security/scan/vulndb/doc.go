// Package vulndb is grype, as a library, for sc: its vulnerability
// database, managed in a directory, and its matcher over that database.
// It is the one package of sc's scanning that links grype (and so syft's
// model); package scan, which merges and judges findings, does not.
//
// # The database
//
// A Store manages grype's database (schema v6) under one directory — sc
// uses <cache-dir>/vulndb, the database itself being
// <cache-dir>/vulndb/6/vulnerability.db — with grype's own distribution
// and installation code (grype/db/v6/distribution, installation), not a
// reimplementation:
//
//   - Status reads the installed database's build time, schema and source
//     and checks its checksum, offline;
//   - Update fetches the listing (DefaultListingURL, grype's public one,
//     or WithListingURL) and installs a newer database when there is one;
//   - Import installs one from a grype archive, a vulnerability.db file or
//     a URL: how machines without network get one;
//   - Open loads the database once for the whole process. It updates first
//     when there is none or it is older than the maximum age
//     (DefaultMaxAge, grype's five days; WithMaxAge); without one it fails
//     with ErrNoDatabase naming `sc scan db import`; a database past its
//     maximum age is refused (ErrStaleDatabase) unless
//     WithInsecureAllowStale, and then every result says it was stale.
//
// Ages are measured with an injected clock (WithClock). grype's downloader
// takes no context: updates are bounded by their timeouts (WithTimeouts).
//
// # Matching
//
// The DB that Open returns is a scan.Scanner safe for concurrent use: each
// Scan builds grype's VulnerabilityMatcher with grype's default matchers
// (the defaults of grype's command line) over the shared, read-only
// database, and returns what grype found as a scan.Report.
//
// The images of a release share base layers, and so most packages: a DB
// asks the database once per distinct package, not once per image. Each
// matcher's answer for a package (its matches and ignore filters) is kept,
// keyed by the matcher and everything of the package a matcher reads, and
// handed to every later scan of an equal package, rebound to that scan's
// own package; grype's SBOM-wide steps (ownership by file overlap,
// de-duplication, ignore rules) still run per image over its own packages,
// so a Scan returns exactly what it returns alone. The records' metadata
// (severity, CVSS), which grype reads for every match of every image and
// sc again to report it, is read once per record too. BenchmarkScan
// (match=alone|shared) measures what that saves; bench/README.md says how
// to run it. The SBOM is
// syft's model, wrapped by NewSBOM (from sbom.Generate) or read from a
// document by DecodeSBOM (`--sbom FILE`); grype reads it through its own
// SBOM reader (pkg.ProvideFromReader), the model being handed over as
// syft-json, syft's lossless format, so that distribution detection,
// file-overlap removal and purl handling are grype's own.
//
// # Writing databases
//
// Write creates a database of given Advisory records with grype's store
// writer, for databases made by programs: WriteSample writes the sample
// database of `sc scan db import --sample`, whose records (SampleAdvisories,
// each described as SampleNotice) match sc's fixture image, so that the
// quickstart shows findings offline; tests build theirs the same way
// (internal/testutil/vulndb). It is not grype's build: no feed is read.
//
// # What it does not do
//
// It does not merge findings or apply policies (package scan), run
// Trivy, generate SBOMs, or touch grype's global logger or event bus
// (grype's logging stays discarded).
package vulndb
