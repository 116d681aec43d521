package api

import (
	"fmt"
	"strings"
)

// This file holds the checks of a loaded release that are warnings, not
// problems: the configuration is valid, but running it may not do what
// was meant.

// SecurityOff returns a warning when security is off for every one of
// services (the release's, or those of them selected to run), naming
// them: sc would then do nothing and succeed, which is also what a
// misspelt or forgotten security block looks like. It reports false when
// some service has a step to run, or there is no service.
func (r *Release) SecurityOff(services []Service) (Problem, bool) {
	var names []string
	for _, s := range services {
		if s.Security.Active() {
			return Problem{}, false
		}
		names = append(names, s.Name)
	}
	if len(names) == 0 {
		return Problem{}, false
	}
	block := "security"
	if r.Stack == "" {
		block = "x-sc-security"
	}
	return Problem{File: r.File, Message: fmt.Sprintf(
		"security is off for every service (%s): no %s block applies to them, or each has enabled: false, so sc does nothing for them",
		strings.Join(names, ", "), block)}, true
}

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
