package provenance_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/provenance"
)

const someDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestBaseImages(t *testing.T) {
	tests := []struct {
		name       string
		dockerfile string
		args       map[string]string
		want       []provenance.BaseImage
	}{{
		name:       "single stage",
		dockerfile: "FROM alpine:3.19\nRUN apk add curl\n",
		want:       []provenance.BaseImage{{Ref: "alpine:3.19", Line: 1}},
	}, {
		name: "multi-stage with stage references",
		dockerfile: `# build
FROM golang:1.22 AS build
RUN go build ./...

FROM build AS test
RUN go test ./...

FROM gcr.io/distroless/static:nonroot
COPY --from=build /app /app
`,
		want: []provenance.BaseImage{
			{Ref: "golang:1.22", Stage: "build", Line: 2},
			{Ref: "gcr.io/distroless/static:nonroot", Line: 8},
		},
	}, {
		name:       "stage names are lower-cased and matched as BuildKit does",
		dockerfile: "FROM alpine AS Base\nFROM base\n",
		want:       []provenance.BaseImage{{Ref: "alpine", Stage: "base", Line: 1}},
	}, {
		name:       "a later stage of the same name does not shadow an image",
		dockerfile: "FROM node\nFROM debian AS node\n",
		want: []provenance.BaseImage{
			{Ref: "node", Line: 1},
			{Ref: "debian", Stage: "node", Line: 2},
		},
	}, {
		name:       "ARG default",
		dockerfile: "ARG GO_VERSION=1.22\nFROM golang:${GO_VERSION}-alpine\n",
		want:       []provenance.BaseImage{{Ref: "golang:1.22-alpine", Line: 2}},
	}, {
		name:       "ARG overridden by a build argument",
		dockerfile: "ARG GO_VERSION=1.22\nFROM golang:${GO_VERSION}-alpine\n",
		args:       map[string]string{"GO_VERSION": "1.23"},
		want:       []provenance.BaseImage{{Ref: "golang:1.23-alpine", Line: 2}},
	}, {
		name:       "ARG default using an earlier ARG",
		dockerfile: "ARG REGISTRY=registry.example.com\nARG BASE=$REGISTRY/base/debian\nARG TAG=12\nFROM ${BASE}:${TAG}\n",
		args:       map[string]string{"TAG": "13"},
		want:       []provenance.BaseImage{{Ref: "registry.example.com/base/debian:13", Line: 4}},
	}, {
		name:       "ARG without default, given",
		dockerfile: "ARG BASE\nFROM $BASE\n",
		args:       map[string]string{"BASE": "ubuntu:24.04"},
		want:       []provenance.BaseImage{{Ref: "ubuntu:24.04", Line: 2}},
	}, {
		name:       "ARG without default, not given, expands to nothing",
		dockerfile: "ARG VARIANT\nFROM python:3.12${VARIANT}\n",
		want:       []provenance.BaseImage{{Ref: "python:3.12", Line: 2}},
	}, {
		name:       "build arguments for undeclared ARGs are ignored",
		dockerfile: "FROM alpine:${TAG}latest\n",
		args:       map[string]string{"TAG": "3.19"},
		want:       []provenance.BaseImage{{Ref: "alpine:latest", Line: 1}},
	}, {
		name:       "ARG after the first FROM is not a global ARG",
		dockerfile: "FROM alpine AS a\nARG V=1\nFROM busybox${V}\n",
		want: []provenance.BaseImage{
			{Ref: "alpine", Stage: "a", Line: 1},
			{Ref: "busybox", Line: 3},
		},
	}, {
		name:       "FROM --platform with a literal platform",
		dockerfile: "FROM --platform=linux/arm64 alpine:3.19\n",
		want:       []provenance.BaseImage{{Ref: "alpine:3.19", Platform: "linux/arm64", Line: 1}},
	}, {
		name:       "FROM --platform=$BUILDPLATFORM, unknown",
		dockerfile: "FROM --platform=$BUILDPLATFORM golang:1.22 AS build\nFROM alpine\n",
		want: []provenance.BaseImage{
			{Ref: "golang:1.22", Stage: "build", Line: 1},
			{Ref: "alpine", Line: 2},
		},
	}, {
		name:       "FROM --platform=$BUILDPLATFORM, given",
		dockerfile: "FROM --platform=$BUILDPLATFORM golang:1.22\n",
		args:       map[string]string{"BUILDPLATFORM": "linux/amd64"},
		want:       []provenance.BaseImage{{Ref: "golang:1.22", Platform: "linux/amd64", Line: 1}},
	}, {
		name:       "platform arguments given for the image name",
		dockerfile: "FROM example.com/tools-${TARGETARCH}:1\n",
		args:       map[string]string{"TARGETARCH": "arm64"},
		want:       []provenance.BaseImage{{Ref: "example.com/tools-arm64:1", Line: 1}},
	}, {
		name:       "FROM by digest",
		dockerfile: "FROM alpine@" + someDigest + "\nFROM nginx:1.27@" + someDigest + "\n",
		want: []provenance.BaseImage{
			{Ref: "alpine@" + someDigest, Line: 1},
			{Ref: "nginx:1.27@" + someDigest, Line: 2},
		},
	}, {
		name:       "scratch",
		dockerfile: "FROM golang AS build\nFROM scratch\nCOPY --from=build /app /app\n",
		want:       []provenance.BaseImage{{Ref: "golang", Stage: "build", Line: 1}},
	}, {
		name:       "scratch through an ARG",
		dockerfile: "ARG BASE=scratch\nFROM $BASE\n",
	}, {
		name:       "escape directive and line continuation",
		dockerfile: "# escape=`\nFROM `\n  mcr.microsoft.com/windows/servercore:ltsc2022 `\n  AS base\n",
		want:       []provenance.BaseImage{{Ref: "mcr.microsoft.com/windows/servercore:ltsc2022", Stage: "base", Line: 2}},
	}, {
		name:       "lower-case instructions and comments",
		dockerfile: "# syntax=docker/dockerfile:1\n# comment\nfrom alpine:3.19 as base\n",
		want:       []provenance.BaseImage{{Ref: "alpine:3.19", Stage: "base", Line: 3}},
	}, {
		// BuildKit's instruction parser panicked on this without a linter.
		name:       "check directive in a comment between stages",
		dockerfile: "FROM alpine AS a\n# check=skip=all\nFROM busybox\n",
		want: []provenance.BaseImage{
			{Ref: "alpine", Stage: "a", Line: 1},
			{Ref: "busybox", Line: 3},
		},
	}, {
		name:       "the same image in two stages is listed twice",
		dockerfile: "FROM alpine AS a\nFROM alpine AS b\n",
		want: []provenance.BaseImage{
			{Ref: "alpine", Stage: "a", Line: 1},
			{Ref: "alpine", Stage: "b", Line: 2},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := provenance.BaseImages([]byte(tt.dockerfile), tt.args)
			if err != nil {
				t.Fatalf("BaseImages: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("BaseImages (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBaseImagesErrors(t *testing.T) {
	tests := []struct {
		name       string
		dockerfile string
		args       map[string]string
		wantMsg    string
	}{
		{name: "empty", dockerfile: "", wantMsg: "no instructions"},
		{name: "no FROM", dockerfile: "# just a comment\n", wantMsg: "no instructions"},
		{name: "only global ARGs", dockerfile: "ARG A=1\n", wantMsg: "no FROM"},
		{name: "instruction before FROM", dockerfile: "RUN true\nFROM alpine\n", wantMsg: "no build stage"},
		{name: "FROM with two arguments", dockerfile: "FROM alpine base\n", wantMsg: "FROM requires either one or three arguments"},
		{name: "unknown instruction", dockerfile: "FROM alpine\nFOO bar\n", wantMsg: "unknown instruction"},
		{name: "blank base", dockerfile: "ARG BASE\nFROM $BASE\n", wantMsg: "line 2: FROM $BASE names a blank base image"},
		{name: "not a reference", dockerfile: "FROM Alpine:3.19\n", wantMsg: `"Alpine:3.19" is not an image reference`},
		{name: "ARG value not a reference", dockerfile: "ARG TAG=3.19\nFROM alpine:$TAG\n", args: map[string]string{"TAG": "no spaces"}, wantMsg: "line 2"},
		{name: "bad digest", dockerfile: "FROM alpine@sha256:abc\n", wantMsg: "not an image reference"},
		{name: "needs an unknown platform argument", dockerfile: "FROM tools-${TARGETARCH}\n", wantMsg: "depends on TARGETARCH"},
		{name: "bad stage name", dockerfile: "FROM alpine AS 1st\n", wantMsg: "invalid name for build stage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := provenance.BaseImages([]byte(tt.dockerfile), tt.args)
			if err == nil {
				t.Fatal("BaseImages succeeded, want an error")
			}
			if !errors.Is(err, provenance.ErrDockerfile) {
				t.Errorf("error %v is not ErrDockerfile", err)
			}
			if got := outcome.Code(err); got != outcome.ExitInvalid {
				t.Errorf("exit code %d, want %d (invalid)", got, outcome.ExitInvalid)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not say %q", err, tt.wantMsg)
			}
		})
	}
}

// FuzzBaseImages feeds arbitrary Dockerfiles and build arguments to the FROM
// extraction: it must never panic, and whatever it returns must be usable.
func FuzzBaseImages(f *testing.F) {
	seeds := []struct{ dockerfile, arg string }{
		{"FROM alpine:3.19\n", ""},
		{"ARG V=1.22\nFROM golang:${V} AS build\nFROM build\nFROM scratch\n", "V=1.23"},
		{"FROM --platform=$BUILDPLATFORM golang AS b\nFROM b\n", "BUILDPLATFORM=linux/amd64"},
		{"# escape=`\nFROM `\n alpine\n", ""},
		{"ARG A=${B:-x}\nARG B\nFROM a${A}${B:+y}\n", "B=z"},
		{"FROM alpine@" + someDigest + "\n", ""},
		{"FROM <<EOF\nEOF\n", ""},
		{"ARG X=\"$(echo hi)\"\nFROM $X\n", ""},
		{"FROM alpine\n# check=skip=all;error=true\nFROM busybox\n", ""},
	}
	for _, s := range seeds {
		f.Add(s.dockerfile, s.arg)
	}
	f.Fuzz(func(t *testing.T, dockerfile, arg string) {
		args := map[string]string{}
		if k, v, ok := strings.Cut(arg, "="); ok {
			args[k] = v
		}
		images, err := provenance.BaseImages([]byte(dockerfile), args)
		if err != nil {
			if !errors.Is(err, provenance.ErrDockerfile) {
				t.Fatalf("error %v is not ErrDockerfile", err)
			}
			return
		}
		for _, img := range images {
			if img.Ref == "" || img.Ref == "scratch" {
				t.Fatalf("base image %+v should not be listed", img)
			}
			if _, err := name.ParseReference(img.Ref); err != nil {
				t.Fatalf("base image %q is not a reference: %v", img.Ref, err)
			}
			if img.Line < 1 {
				t.Fatalf("base image %+v has no line", img)
			}
		}
	})
}
