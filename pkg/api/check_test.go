package api_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCheckEnv(t *testing.T) {
	files := memFS{"sc.yaml": `
stacks:
  prod:
    security:
      signing: {privateKey: "${env:KEY}", password: "${env:COSIGN_PASSWORD}"}
    services:
      api: {image: registry.example.com/api:1}
      web: {image: registry.example.com/web:1}
      off:
        image: registry.example.com/off:1
        security: {signing: {enabled: false, password: "${env:OTHER}"}}
`}
	rel, err := load(t, files, "sc.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"all set", map[string]string{"KEY": "PEM", "COSIGN_PASSWORD": "pw"}, nil},
		// an empty password is a password (cosign's COSIGN_PASSWORD=)
		{"empty password", map[string]string{"KEY": "PEM", "COSIGN_PASSWORD": ""}, nil},
		{"unset password", map[string]string{"KEY": "PEM"}, []string{
			"sc.yaml: signing.password: ${env:COSIGN_PASSWORD} is not set (in this environment): `sc release create` would refuse it; services: api, web",
		}},
		{"empty key, unset password", map[string]string{"KEY": ""}, []string{
			"sc.yaml: signing.privateKey: ${env:KEY} is empty: it holds no key (in this environment): `sc release create` would refuse it; services: api, web",
			"sc.yaml: signing.password: ${env:COSIGN_PASSWORD} is not set (in this environment): `sc release create` would refuse it; services: api, web",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, p := range rel.CheckEnv(func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }) {
				got = append(got, p.String())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("CheckEnv (-want +got):\n%s", diff)
			}
		})
	}
}
