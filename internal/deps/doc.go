// Package deps has no code; its test checks the module's import rules (no
// cobra or pkg/cmd under pkg/security, a light pkg/api and registry layer,
// never cosign's cmd/ packages).
package deps
