package api_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/outcome"
)

// FuzzLoad feeds arbitrary bytes to the loader as the main file of a
// configuration whose parent is fixed. It must never panic, and it must
// either return a release or an error in the invalid class.
func FuzzLoad(f *testing.F) {
	for _, file := range []string{
		"../../examples/key-based.yaml",
		"../../examples/keyless-github-actions.yaml",
		"../../examples/platform.yaml",
		"../../examples/docker-compose.yaml",
	} {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"",
		"stacks: {a: {parent: b}, b: {parent: a, services: {x: {image: y}}}}",
		"stacks: {p: {parent: base.yaml#base, services: {x: {image: y}}}}",
		"stacks: {p: {parent: base.yaml, services: {x: {image: y, security: {signing: {keyless: true}}}}}}",
		"a: &a [*a]\nstacks: {p: {security: {scan: {<<: *a}}}}",
		"services: {web: {image: x, build: ., x-sc-security: {scan: {ignore: [{id: x}]}}}}",
		"stacks: {p: {security: {signing: {password: '${env:X', privateKey: '${file:}'}}}}",
		"- [",
		"? [a]\n: b",
		"stacks: !!str 1",
		"---\n---\n",
	} {
		f.Add([]byte(s))
	}
	base := []byte("security: {scan: {failOn: high}}\nstacks: {base: {security: {sbom: {format: spdx-json}}}}\n")
	f.Fuzz(func(t *testing.T, data []byte) {
		read := func(name string) ([]byte, error) {
			switch name {
			case "sc.yaml":
				return data, nil
			case "base.yaml":
				return base, nil
			}
			return nil, os.ErrNotExist
		}
		rels, err := api.LoadAll(context.Background(), "sc.yaml", api.WithReadFile(read))
		if err != nil {
			var verr *api.ValidationError
			if !errors.As(err, &verr) || outcome.Code(err) != outcome.ExitInvalid || len(verr.Problems) == 0 {
				t.Fatalf("error %T %v: want a *ValidationError with problems", err, err)
			}
			return
		}
		for _, rel := range rels {
			for _, svc := range rel.Services {
				if svc.Security.Signing == nil || svc.Security.Scan == nil || svc.Security.SBOM == nil {
					t.Fatalf("service %s: defaults not applied", svc.Name)
				}
			}
		}
	})
}
