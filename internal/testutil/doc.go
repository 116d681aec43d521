// Package testutil is test support for sc: registries to run tests against
// and a fault injector to make them misbehave on purpose.
//
//   - NewRegistry starts go-containerregistry's in-process registry on
//     127.0.0.1, with or without the OCI referrers API.
//   - StartDockerRegistry starts Debian's docker-registry (distribution 2.8,
//     no referrers API) on a free 127.0.0.1 port, for integration tests.
//   - Tool finds an external program that .ci/tools.sh builds (Kyverno's
//     CLI, policy-controller's policy-tester), skipping the test without it
//     or failing it under CI=true.
//   - Faults wraps a registry's handler: it fails, drops or delays matching
//     requests, and counts every request by method and kind (manifest, blob,
//     upload, referrers), so that a test can prove what was or was not
//     downloaded.
//
// Everything listens on 127.0.0.1 only and is stopped by t.Cleanup. The
// fixture images live in fixture*.go files of this package and in
// internal/fixture; the virtual Sigstore in sigstoretest; the real trivy
// executable (and a stand-in for the failures it cannot be made to show) in
// trivytest; Trivy's database, built offline with trivy-db, in trivydb.
//
// It is imported by tests only; its functions take a testing.TB and fail
// the test instead of returning errors.
package testutil
