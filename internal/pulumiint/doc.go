// Package pulumiint is the Pulumi hook's integration test: it drives the
// real Pulumi engine (the CLI that .ci/pulumi.sh builds) through the
// Automation API with an inline program, against a file backend in a
// temporary directory, and runs pkg/pulumi.ImageSecurity with sc's real
// executor against an in-process registry. It shows what the mock engine of
// pkg/pulumi's own tests cannot: what a preview does, that the engine waits
// for the digest and orders dependents after the verdict, what a second
// update and a destroy do, and how a failing policy surfaces in `pulumi up`.
//
// It has no non-test code; it needs no cloud, network or provider plugin.
package pulumiint
