// Package deps has no code; its test checks the module's import rules (no
// cobra or pkg/cmd under pkg/security, a light pkg/api and registry layer,
// never cosign's cmd/ packages), that the run environment links only the
// standard library and pkg/outcome, that pkg/version links only the
// standard library, and that the option groups and the commands that need
// no scanner or signer (`sc config`, `sc cache`, `sc key`) link nothing of
// anchore's or sigstore's.
package deps
