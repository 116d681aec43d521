package runenv_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/sc-project/sc/pkg/security/runenv"
)

func ExampleDetectCI() {
	ci := runenv.DetectCI(runenv.Env{
		"GITHUB_ACTIONS":     "true",
		"GITHUB_REPOSITORY":  "acme/shop",
		"GITHUB_RUN_ID":      "42",
		"GITHUB_RUN_ATTEMPT": "1",
		"GITHUB_REF":         "refs/heads/main",
	})
	fmt.Println(ci.Provider)
	fmt.Println(ci.RepositoryURL)
	fmt.Println(ci.RunURL)
	fmt.Println(ci.Branch)
	// Output:
	// github-actions
	// https://github.com/acme/shop
	// https://github.com/acme/shop/actions/runs/42/attempts/1
	// main
}

func ExampleNew() {
	// In sc, the Env comes from pkg/cmd/options; here, a GitHub job that was
	// not given the id-token permission.
	env := runenv.Env{"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "acme/shop"}
	ec, err := runenv.New(context.Background(), env, runenv.WithoutGit())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ec.SourceRepository())
	_, err = ec.Token.Token(context.Background())
	fmt.Println(errors.Is(err, runenv.ErrNoIdentityToken))
	fmt.Println(err)
	// Output:
	// https://github.com/acme/shop
	// true
	// the GitHub job cannot request an OIDC token: add `permissions: id-token: write` to the workflow job
}

func ExampleNormalizeRepoURL() {
	fmt.Println(runenv.NormalizeRepoURL("git@github.com:acme/shop.git"))
	fmt.Println(runenv.NormalizeRepoURL("https://ci:token@gitlab.example.com/g/app.git"))
	// Output:
	// https://github.com/acme/shop
	// https://gitlab.example.com/g/app
}
