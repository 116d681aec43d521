// Package api is sc's configuration: the `security:` descriptor that says
// what sc does to an image (sign, SBOM, provenance, scan, report), the stack
// files that group services and let configurations inherit from each other,
// and the JSON Schema of both.
//
// # Loading
//
// Load reads a stack file (or a docker-compose file), follows parent
// references across files, and returns a Release: the services of one
// stack, each with its effective Security. Everything wrong with the files
// is reported at once in a *ValidationError (class outcome.ErrInvalid):
// unknown keys with a suggestion, wrong types, invalid values and settings
// that cannot work together, each with its file, line and column:
//
//	sc.yaml:12:7: stacks.prod.security.sbom.fromat: unknown field `fromat`; did you mean `format`?
//	sc.yaml:7:16: security.signing.enabled: expected a boolean (true or false), got "yes please"
//
// A stack file:
//
//	version: 1                # optional
//	security: {…}             # file-wide defaults (optional)
//	stacks:
//	  base:
//	    security: {…}
//	  production:
//	    parent: base          # a stack of this file; "../platform.yaml#base", a
//	                          # stack of another file; "../platform.yaml", that
//	                          # file's file-wide security
//	    security: {…}
//	    services:
//	      api:
//	        image: registry.example.com/api:1.2
//	        dockerfile: services/api/Dockerfile   # relative to this file
//	        context: services/api                 # relative to this file
//	        security: {…}
//
// A file with a top-level `services:` and no `stacks:` is a docker-compose
// file: each service's image and build (context, dockerfile) are read, and
// the top-level and per-service `x-sc-security` blocks are its security.
// Other compose keys are ignored, except keys that look like sc's but are
// not one it reads (x-sc-securty, any other x-sc-* key, x-cs-security):
// compose ignores every x- key, so such a typo would turn security off
// silently, and it is reported with a suggestion. A service without a
// block is valid; when security is off for every service,
// Release.SecurityOff says so, and `sc config validate` and `sc release
// create` print it as a warning. Services without an image are skipped
// with a warning. sc does not expand compose variables: validate the output
// of `docker compose config` when images use them.
//
// The effective security of a service is, merged in this order, each later
// block winning: the file's security, the parent chain (each parent's own
// file security, its parents, its block), the stack's security, the
// service's security. Blocks merge key by key; scalars and lists are
// replaced whole (a service's scan.ignore replaces the stack's); maps
// (signing.annotations) merge by key. Parent cycles are reported with the
// whole chain. Without --stack (WithStack), the stack is the file's only
// stack, or else its only stack with services.
//
// Input paths (privateKey and publicKey files, ${file:…} references, VEX
// documents, a trivy path with a '/', dockerfile, context) are relative to
// the file that declares them, and Load makes them relative to the working
// directory. Output paths (sbom.output, reporting.*) are relative to the
// working directory; in sbom.output, {service} is replaced by the service
// name.
//
// # Secrets
//
// signing.password, signing.privateKey and reporting.defectdojo.apiKey
// are Secrets: ${env:NAME}, ${file:PATH} or a literal. A Secret keeps the
// reference and reads the value only in Resolve, through functions it is
// given; printing, logging or marshalling it shows the reference, and a
// literal as [redacted]. A privateKey literal is a key path or KMS URI and
// prints as written, unless it holds PEM.
//
// Resolve reads the environment through an os.LookupEnv-style function, so
// that one rule holds in every command: a variable set to "" is the empty
// value (COSIGN_PASSWORD= is an empty password, as cosign reads it), and
// only an unset variable is "not set". A key set to "" is refused: it
// holds no key. Release.CheckEnv applies the rule ahead of a run.
//
// # Identity patterns
//
// signing.verify.identityRegexp must be anchored, ^…$ around the whole
// identity (CheckAnchored): a Go regular expression matches anywhere in
// the value, so the unanchored github.com/acme/shop/.* would accept a
// workflow of another repository on a branch named github.com/acme/shop/x.
// An unanchored pattern in a file is a problem at its line. On the command
// line (--certificate-identity-regexp, --certificate-oidc-issuer-regexp)
// such patterns are accepted for cosign compatibility; CheckAnchored's
// error is the warning to print.
//
// # Defaults
//
// When no security block is present anywhere in a service's chain, or
// enabled is false, nothing runs. Otherwise unset values take these
// defaults (Defaults returns them all):
//
//	key                              default
//	enabled                          true when a security block is present
//	signing.enabled                  true when a signing block is present, else false
//	signing.keyless                  false (key-based: privateKey is needed)
//	signing.required                 true
//	signing.verify.enabled           true
//	signing.fulcioURL                https://fulcio.sigstore.dev
//	signing.rekorURL                 https://rekor.sigstore.dev
//	signing.tsaURL                   none
//	signing.tlogUpload               true
//	signing.format                   bundle
//	signing.recursive                true (an image index: each platform image is signed too)
//	sbom.enabled                     true
//	sbom.format                      cyclonedx-json
//	sbom.attach                      true
//	sbom.scope                       squashed
//	sbom.output                      none (not written to disk)
//	sbom.required                    false
//	provenance.enabled               true
//	provenance.builder.id            derived from the CI environment at run time
//	provenance.includeGit            true
//	provenance.includeDockerfile     true
//	provenance.buildArgs             none recorded
//	provenance.required              false
//	scan.enabled                     true
//	scan.tools                       [{name: grype}]
//	scan.failOn                      high
//	scan.warnOn                      one step below failOn (medium)
//	scan.softFail                    false
//	scan.onlyFixed                   false
//	scan.dbMaxAge                    120h (grype's own default)
//	scan.tools[].required            false
//	scan.tools[].failOn              scan.failOn
//	scan.tools[].warnOn              scan.warnOn if below the tool's failOn, else one step below it
//	reporting.*                      none
//	platforms                        every platform of an image index
//	reporting.defectdojo.autoCreate  false
//	reporting.defectdojo.closeOldFindings false
//
// Every `required` is false (a step that cannot run is a warning, so an
// outage of an optional service does not stop a release), except
// signing.required: a signing block is an explicit request, and an image
// meant to be signed that ships unsigned fails later, at admission, where
// it is harder to see why. A failed check is always a failure, required or
// not: required is about a step that could not run.
//
// # Never signed unscanned
//
// With a scan policy that can fail (a failOn) and softFail false, an image
// is signed only after its scan completed and passed. When the scan could
// not run — the SBOM could not be made, the vulnerability database is
// missing, a scanner failed — signing is refused and the image fails with
// the reason, exit code 3 (the check could not run; a retry can succeed
// once the database or registry is back); a violation is exit 1. With
// softFail: true the image is signed anyway, its outcome is warned, and the
// summary says that it was signed without a scan. For an image index the
// scan's verdict is the worst over its platforms.
//
// # Severity thresholds
//
// Severities rank critical > high > medium > low > negligible > unknown.
// A finding at or above failOn fails the scan (unless softFail); one at or
// above warnOn, and below failOn, is a warning. A warnOn at or above failOn
// is rejected: every finding that would reach it already fails, so the
// warning could never fire.
//
// # What this package does not do
//
// It does not sign, scan or talk to registries or Sigstore, resolve image
// tags, expand compose variables, or read secrets except through
// Secret.Resolve's injected functions. It imports no sigstore, syft, grype
// or go-containerregistry code.
package api
