package api

import (
	"fmt"
	"strings"
)

// This file holds the checks of a loaded release that are warnings, not
// problems: the configuration is valid, but running it may not do what
// was meant.

// CheckEnv returns a warning for each ${env:NAME} secret of the services'
// effective configurations that `sc release create` would refuse in the
// environment lookupEnv reads (as os.LookupEnv does): a variable that is
// not set, or a key variable set to "". A variable set to "" is a valid
// empty password. Secrets of steps that are off are not checked, nor
// ${file:…} references; the services are named in each warning, which is
// given once however many services share the secret. They are warnings:
// a configuration is often checked where its secrets are not set.
func (r *Release) CheckEnv(lookupEnv func(string) (string, bool)) []Problem {
	type found struct {
		path, msg string
	}
	var (
		order    []found
		services = map[found][]string{}
	)
	add := func(svc, path string, err error) {
		if err == nil {
			return
		}
		f := found{path, err.Error()}
		if _, ok := services[f]; !ok {
			order = append(order, f)
		}
		services[f] = append(services[f], svc)
	}
	for _, s := range r.Services {
		if !s.Security.SigningEnabled() || s.Security.Signing.IsKeyless() {
			continue
		}
		sg := s.Security.Signing
		if sg.PrivateKey.kind == secretEnv {
			_, err := sg.PrivateKey.Resolve(lookupEnv, nil)
			add(s.Name, "signing.privateKey", err)
		}
		if sg.Password.kind == secretEnv {
			_, err := sg.Password.Resolve(lookupEnv, nil)
			add(s.Name, "signing.password", err)
		}
	}
	var out []Problem
	for _, f := range order {
		out = append(out, Problem{File: r.File, Path: f.path, Message: fmt.Sprintf(
			"%s (in this environment): `sc release create` would refuse it; services: %s", f.msg, strings.Join(services[f], ", "))})
	}
	return out
}
