package provenance

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// BaseImage is an image a Dockerfile builds FROM, after ARG expansion.
type BaseImage struct {
	// Ref is the image reference as the FROM line names it once its
	// arguments are expanded ("golang:1.22", "alpine@sha256:…"), without
	// Docker Hub defaults added.
	Ref string
	// Platform is the expanded value of FROM --platform, or "" when the
	// line has none or it depends on arguments that are not known (such as
	// BUILDPLATFORM when no build argument sets it).
	Platform string
	// Stage is the name the FROM line gives its stage (AS name), lower-cased
	// as BuildKit does; "" when unnamed.
	Stage string
	// Line is the line of the FROM instruction, counting from 1.
	Line int
}

// automaticArgs lists the arguments BuildKit defines for every build from
// the build and target platforms. sc does not run the build and cannot know
// them unless they are passed as build arguments.
func automaticArgs() []string {
	return []string{
		"BUILDPLATFORM", "BUILDOS", "BUILDOSVERSION", "BUILDARCH", "BUILDVARIANT",
		"TARGETPLATFORM", "TARGETOS", "TARGETOSVERSION", "TARGETARCH", "TARGETVARIANT",
		"TARGETSTAGE",
	}
}

// emptyImage is the FROM name of the empty base image.
const emptyImage = "scratch"

// BaseImages lists the images a Dockerfile builds FROM, in the order of
// their FROM lines, using BuildKit's own parser and shell lexer.
//
// ARGs declared before the first FROM are expanded in FROM lines and in
// --platform values: a build argument of the same name overrides the
// declared default, a default may use arguments declared before it, and an
// argument that is declared without a default and not given expands to the
// empty string, as in BuildKit. The platform arguments BuildKit defines
// (TARGETARCH, BUILDPLATFORM, …) are known only when given in args; a base
// image whose name needs one that is not given is an error.
//
// FROM scratch and a FROM that names an earlier stage are not base images
// and are left out. The same image used by several stages is listed once
// per FROM line; callers deduplicate.
//
// Errors are in the outcome.ErrInvalid class (ErrDockerfile): a Dockerfile
// that does not parse, has no FROM, or names a base image that is blank or
// not a valid reference once expanded.
func BaseImages(dockerfile []byte, args map[string]string) ([]BaseImage, error) {
	res, stages, metaArgs, err := parseDockerfile(dockerfile)
	if err != nil {
		return nil, err
	}
	if len(stages) == 0 {
		return nil, fmt.Errorf("%w: no FROM instruction", ErrDockerfile)
	}

	lex := shell.NewLex(res.EscapeToken)
	env := newArgEnv()
	for _, k := range automaticArgs() {
		if v, ok := args[k]; ok {
			env.set(k, v)
		}
	}
	// ARGs before the first FROM, in order: BuildKit's buildMetaArgs.
	for _, cmd := range metaArgs {
		for _, kv := range cmd.Args {
			if v, ok := args[kv.Key]; ok {
				// A build argument replaces the default verbatim.
				env.set(kv.Key, v)
				continue
			}
			if kv.Value == nil {
				continue
			}
			r, err := lex.ProcessWordWithMatches(*kv.Value, env)
			if err != nil {
				return nil, fmt.Errorf("%w: line %d: expanding ARG %s: %w", ErrDockerfile, line(cmd.Location()), kv.Key, err)
			}
			env.set(kv.Key, r.Result)
		}
	}

	var out []BaseImage
	seenStages := map[string]bool{}
	for _, st := range stages {
		ln := line(st.Location)
		r, err := lex.ProcessWordWithMatches(st.BaseName, env)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: expanding FROM %s: %w", ErrDockerfile, ln, st.BaseName, err)
		}
		if missing := unknownAutomatic(r.Unmatched); len(missing) > 0 {
			return nil, fmt.Errorf("%w: line %d: FROM %s depends on %s, which only the builder knows: pass it as a build argument",
				ErrDockerfile, ln, st.BaseName, strings.Join(missing, ", "))
		}
		base := r.Result
		if base == "" {
			return nil, fmt.Errorf("%w: line %d: FROM %s names a blank base image", ErrDockerfile, ln, st.BaseName)
		}

		// An earlier stage of that name wins over an image of that name,
		// as in BuildKit; a later one does not. Stage names are lower-case
		// and BuildKit matches them exactly.
		isStage := seenStages[base]
		if st.Name != "" {
			seenStages[st.Name] = true
		}
		if isStage || base == emptyImage {
			continue
		}
		if _, err := name.ParseReference(base); err != nil {
			return nil, fmt.Errorf("%w: line %d: FROM %s: %q is not an image reference: %w", ErrDockerfile, ln, st.BaseName, base, err)
		}

		platform := ""
		if st.Platform != "" {
			p, err := lex.ProcessWordWithMatches(st.Platform, env)
			if err == nil && len(p.Unmatched) == 0 {
				platform = p.Result
			}
		}
		out = append(out, BaseImage{Ref: base, Platform: platform, Stage: st.Name, Line: ln})
	}
	return out, nil
}

// parseDockerfile runs BuildKit's parser and instruction parser. A panic
// in them on hostile input becomes an error.
func parseDockerfile(dockerfile []byte) (res *parser.Result, stages []instructions.Stage, metaArgs []instructions.ArgCommand, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, stages, metaArgs = nil, nil, nil
			err = fmt.Errorf("%w: parser failed: %v", ErrDockerfile, r)
		}
	}()
	res, err = parser.Parse(bytes.NewReader(dockerfile))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %w", ErrDockerfile, err)
	}
	// A linter that reports nothing: BuildKit's instruction parser needs
	// one to honour "# check=" comments (with none it panics on them).
	stages, metaArgs, err = instructions.Parse(res.AST, linter.New(&linter.Config{}))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %w", ErrDockerfile, err)
	}
	return res, stages, metaArgs, nil
}

func line(loc []parser.Range) int {
	if len(loc) == 0 {
		return 0
	}
	return loc[0].Start.Line
}

func unknownAutomatic(unmatched map[string]struct{}) []string {
	auto := automaticArgs()
	var out []string
	for k := range unmatched {
		if slices.Contains(auto, k) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// argEnv is the set of defined arguments, for the shell lexer.
type argEnv struct{ m map[string]string }

func newArgEnv() *argEnv { return &argEnv{m: map[string]string{}} }

func (e *argEnv) set(k, v string) { e.m[k] = v }

// Get implements shell.EnvGetter.
func (e *argEnv) Get(k string) (string, bool) {
	v, ok := e.m[k]
	return v, ok
}

// Keys implements shell.EnvGetter.
func (e *argEnv) Keys() []string { return slices.Sorted(maps.Keys(e.m)) }

var _ shell.EnvGetter = (*argEnv)(nil)
