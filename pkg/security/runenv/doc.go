// Package runenv describes where sc runs, gathered once at the start of
// a command and handed to every step that needs it (signing, provenance):
//
//   - CI: the CI provider detected from an environment given as data (GitHub
//     Actions, GitLab CI, CircleCI, Buildkite, Jenkins, Azure Pipelines,
//     Bitbucket Pipelines), with the repository, commit, ref, run and actor
//     it reports (see DetectCI).
//   - Git: the local git checkout read with the git command line: remote,
//     HEAD commit, branch, dirty state (see ReadGit). Remote URLs are
//     normalised to their https form and never carry credentials.
//   - Token: a TokenSource of OIDC identity tokens for keyless signing: an
//     explicit token, GitHub Actions' token endpoint, or a source that
//     explains why no token is available.
//
// New builds all three from one Env; SourceRepository, Commit
// and Ref pick the CI's answer first and fall back to git's.
//
// What this package does not do: it never reads the process environment (the
// caller passes an Env, in sc built by pkg/cmd/options), never prints, and
// never verifies an identity token's signature — UnverifiedClaims only reads
// claims for messages. Secrets (identity tokens, the GitHub request token)
// are held in a Secret, which redacts itself in every printed, logged or
// marshalled form. It has no HTTP retry policy of its own: the caller gives
// one (WithGitHubRetry; sc gives pkg/security/httpretry's).
//
// It imports the standard library and pkg/outcome only, so that every
// command can know where it runs without linking the signing, SBOM or
// scanning libraries.
package runenv
