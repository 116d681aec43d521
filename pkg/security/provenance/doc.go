// Package provenance writes and checks SLSA v1.0 build provenance for
// container images, as in-toto statements
// (https://in-toto.io/Statement/v1) whose predicate type is
// https://slsa.dev/provenance/v1.
//
// The pipeline: a caller describes the build as data in a Build (the source
// repository, ref and commit; the CI run; the Dockerfile and its build
// arguments; when it ran). A Generator reads the Dockerfile's FROM lines
// (BaseImages), resolves every base image that is not already pinned to a
// digest through a Resolver, and returns a Statement whose subject is the
// image digest. Marshal turns it into stable, indented JSON; Parse reads one
// back and Verify checks a predicate against what the verifier expects
// (builder, source repository, commit).
//
// # Build type
//
// Every predicate carries the build type BuildType,
// https://sc.dev/buildtypes/container-image/v1: "a container image built
// from a Dockerfile in a source repository by a CI run, described by sc".
// Its parameters are:
//
// buildDefinition.externalParameters, what the person or pipeline that
// started the build chose:
//
//   - source.uri: the source repository as an https URL without credentials
//     (https://github.com/org/repo).
//   - source.ref: the fully qualified git ref that was built
//     (refs/heads/main, refs/tags/v1.2.0), when known.
//   - source.commit: the full hexadecimal commit id, when known.
//   - workflow.path: the CI definition that ran, relative to the repository
//     root (.github/workflows/release.yml, .gitlab-ci.yml), when the CI
//     names one.
//   - dockerfile.path: the Dockerfile, as the caller named it, and
//     dockerfile.digest.sha256 its content's SHA-256, when one was given.
//   - buildArgs: build arguments by name, only those on the allowlist
//     (DefaultRecordedArgs and Build.RecordedArgs). Other build arguments and
//     the environment are never recorded: they may hold secrets.
//
// buildDefinition.internalParameters, set by sc and not chosen by the user:
//
//   - scVersion: the version of sc that wrote the provenance.
//   - ciProvider: the CI service (github-actions, gitlab-ci, …), absent
//     outside CI.
//
// buildDefinition.resolvedDependencies, in this order:
//
//   - the source commit, as uri git+<source.uri>@<commit> with digest
//     gitCommit, when both are known;
//   - every base image of the Dockerfile, in the order of its FROM lines,
//     once each: uri is a package URL (pkg:docker/<name>@<tag>, with a
//     digest qualifier when the FROM line pinned one and a platform
//     qualifier when FROM --platform names a known platform), digest is the
//     image's digest (the index digest for a multi-platform image). A FROM
//     that names an earlier stage, and FROM scratch, are not dependencies.
//     ARGs declared before the first FROM are expanded in FROM lines as
//     BuildKit does: their defaults, overridden by build arguments.
//
// runDetails.builder.id identifies the trusted CI workflow that ran the
// build; see CI.BuilderID for how it is derived. runDetails.builder.version
// holds sc's version under "sc". runDetails.metadata holds invocationId (the
// CI run, see CI.InvocationID), startedOn and finishedOn.
//
// What the package does not do: it does not build images, sign or attach
// statements (pkg/security/attest does), or read the process environment or
// files: the Dockerfile's content comes in the Build, and the only I/O is
// the Resolver's. Base images referenced by tag are resolved when the
// provenance is generated: pin them by digest in the Dockerfile for the
// record to name exactly what the build pulled.
package provenance
