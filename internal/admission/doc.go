// Package admission holds the tests that run the cluster engines' own
// evaluators on images sc signed and attested: Sigstore policy-controller's
// policy-tester on the ClusterImagePolicy and Kyverno's CLI (kyverno apply
// --registry) on the ClusterPolicy that `sc policy export` writes, against
// an in-process registry on loopback. The evaluators are external programs
// that .ci/tools.sh builds from their pinned modules (testutil.Tool finds
// them).
//
// The package has no code: the tests link sc's whole command tree, which
// the light `sc policy` package and the export library must not pay for in
// their own tests.
package admission
