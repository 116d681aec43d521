package api_test

import (
	"context"
	"fmt"
	"os"

	"github.com/sc-project/sc/pkg/api"
)

func ExampleLoad() {
	rel, err := api.Load(context.Background(), "../../examples/keyless-github-actions.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, svc := range rel.Services {
		s := svc.Security
		fmt.Printf("%s %s: keyless %v, sbom %s, fail on %s\n", svc.Name, svc.Image, s.Signing.IsKeyless(), s.SBOM.Format, s.Scan.FailOn)
	}
	// Output:
	// frontend ghcr.io/example/shop-frontend:2.0.0: keyless true, sbom cyclonedx-json, fail on high
	// checkout ghcr.io/example/shop-checkout:2.0.0: keyless true, sbom cyclonedx-json, fail on high
}

func ExampleLoad_problems() {
	files := map[string]string{"sc.yaml": `stacks:
  prod:
    security:
      sbom: {fromat: spdx-json}
      scan: {failOn: medium, warnOn: high}
    services:
      api: {image: registry.example.com/api:1}
`}
	read := func(name string) ([]byte, error) {
		if s, ok := files[name]; ok {
			return []byte(s), nil
		}
		return nil, os.ErrNotExist
	}
	_, err := api.Load(context.Background(), "sc.yaml", api.WithReadFile(read))
	fmt.Println(err)
	// Output:
	// sc.yaml:4:14: stacks.prod.security.sbom.fromat: unknown field `fromat`; did you mean `format`?
	// sc.yaml:5:38: stacks.prod.security.scan.warnOn: warnOn high is at or above failOn medium, so it could never fire: findings at high already fail; set warnOn below failOn
}

func ExampleSecret_Resolve() {
	password, err := api.ParseSecret("${env:COSIGN_PASSWORD}")
	if err != nil {
		fmt.Println(err)
		return
	}
	env := map[string]string{"COSIGN_PASSWORD": "s3cret"}
	lookupEnv := func(name string) (string, bool) { v, ok := env[name]; return v, ok } // os.LookupEnv in a program

	fmt.Println(password) // printing shows the reference
	value, err := password.Resolve(lookupEnv, os.ReadFile)
	fmt.Println(len(value), err)
	env["COSIGN_PASSWORD"] = "" // set but empty: an empty password
	value, err = password.Resolve(lookupEnv, os.ReadFile)
	fmt.Println(len(value), err)
	delete(env, "COSIGN_PASSWORD")
	_, err = password.Resolve(lookupEnv, os.ReadFile)
	fmt.Println(err)
	// Output:
	// ${env:COSIGN_PASSWORD}
	// 6 <nil>
	// 0 <nil>
	// ${env:COSIGN_PASSWORD} is not set
}
