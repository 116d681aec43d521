package api_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSecurityOff(t *testing.T) {
	tests := []struct {
		name     string
		file     string
		yaml     string
		services []string // the services selected; nil for all
		want     string   // "" for no warning
	}{
		{
			name: "compose without x-sc-security",
			file: "compose.yaml",
			yaml: `
services:
  web: {image: registry.example.com/web:1}
  db: {image: postgres:16}
`,
			want: "compose.yaml: security is off for every service (web, db): no x-sc-security block applies to them, or each has enabled: false, so sc does nothing for them",
		},
		{
			name: "no service selected",
			file: "compose.yaml",
			yaml: `
services:
  web: {image: registry.example.com/web:1}
`,
			services: []string{},
		},
		{
			name: "one service secured",
			file: "compose.yaml",
			yaml: `
services:
  web: {image: registry.example.com/web:1, x-sc-security: {}}
  db: {image: postgres:16}
`,
		},
		{
			name: "the selected services are all off",
			file: "compose.yaml",
			yaml: `
services:
  web: {image: registry.example.com/web:1, x-sc-security: {}}
  db: {image: postgres:16}
`,
			services: []string{"db"},
			want:     "compose.yaml: security is off for every service (db): no x-sc-security block applies to them, or each has enabled: false, so sc does nothing for them",
		},
		{
			name: "stack file, disabled everywhere",
			file: "sc.yaml",
			yaml: `
security: {enabled: false}
stacks:
  prod:
    services:
      api: {image: registry.example.com/api:1}
`,
			want: "sc.yaml: security is off for every service (api): no security block applies to them, or each has enabled: false, so sc does nothing for them",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rel, err := load(t, memFS{tt.file: tt.yaml}, tt.file)
			if err != nil {
				t.Fatal(err)
			}
			services := rel.Services
			if tt.services != nil {
				services = nil
				for _, n := range tt.services {
					services = append(services, serviceByName(t, rel, n))
				}
			}
			w, off := rel.SecurityOff(services)
			if off != (tt.want != "") || (off && w.String() != tt.want) {
				t.Errorf("SecurityOff = %q, %v; want %q", w, off, tt.want)
			}
		})
	}
}

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
