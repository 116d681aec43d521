// Package docs holds sc's user documentation beyond the README
// (troubleshooting.md, compliance.md) and no code: its test keeps
// troubleshooting.md true to the code. It reads sc's Go sources with
// go/parser and fails when an exported sentinel or error type, or a
// configuration problem pkg/api reports, has no entry, when an entry states
// another exit code than the error's class, or when an entry quotes a
// message that no string literal of sc's code can print.
//
// It does not run sc, and it does not check compliance.md's SBOM claims:
// those are tested where SBOMs are made (pkg/security/sbom's
// TestNTIAMinimumElements), so that this test links no syft.
package docs
