package provenance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

// Marshal encodes a statement as indented JSON ending in a newline. The
// output is stable: the same statement always gives the same bytes
// (protojson's own output varies its whitespace on purpose).
func Marshal(st *intoto.Statement) ([]byte, error) {
	raw, err := protojson.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("encoding the statement: %w", err)
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return nil, fmt.Errorf("encoding the statement: %w", err)
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// Parse decodes an in-toto statement carrying SLSA v1 provenance and returns
// it with its predicate. Fields the predicate type does not define are
// ignored, as SLSA asks of consumers. A statement of another type, with
// another predicate type, or a predicate that is not valid SLSA v1
// provenance is ErrMalformed.
func Parse(data []byte) (*intoto.Statement, *slsa.Provenance, error) {
	lenient := protojson.UnmarshalOptions{DiscardUnknown: true}
	st := &intoto.Statement{}
	if err := lenient.Unmarshal(data, st); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if err := st.Validate(); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if st.GetPredicateType() != PredicateType {
		return nil, nil, fmt.Errorf("%w: predicate type %q, expected %q", ErrMalformed, st.GetPredicateType(), PredicateType)
	}
	raw, err := protojson.Marshal(st.GetPredicate())
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	pred := &slsa.Provenance{}
	if err := lenient.Unmarshal(raw, pred); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if err := pred.Validate(); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return st, pred, nil
}

// Expectations are what a verifier requires of a predicate. Empty fields are
// not checked; at least one must be set.
type Expectations struct {
	// BuilderID must equal runDetails.builder.id exactly.
	BuilderID string
	// BuilderIDPrefix must start runDetails.builder.id.
	BuilderIDPrefix string
	// SourceURI must name the repository in
	// externalParameters.source.uri and in the git dependency. A leading
	// "git+", a trailing "/" or ".git" and the case of the host do not
	// matter.
	SourceURI string
	// SourceURIPrefix must start the repository in
	// externalParameters.source.uri and in the git dependency, compared as
	// SourceURI is (no "git+", the host in any case) except that a trailing
	// "/" counts: https://github.com/acme/ matches the repositories of
	// acme, not of acme-evil.
	SourceURIPrefix string
	// Commit must equal externalParameters.source.commit and the gitCommit
	// digest of the git dependency (hexadecimal, any case). A prefix of at
	// least MinCommitPrefix hex digits (git's short form) matches a commit
	// that starts with it; anything shorter or not hexadecimal is refused
	// as ErrInvalidExpectation.
	Commit string
}

// Verify checks pred against exp without any I/O. It returns nil when every
// expectation holds, ErrNoExpectations when exp is empty, ErrMalformed for a
// nil predicate, and otherwise one *MismatchError per field that differs,
// joined (errors.As finds the first; all wrap ErrMismatch, in the
// outcome.ErrCheckFailed class).
//
// Source and commit are looked up where BuildType records them; a predicate
// of another build type fails those expectations with a mismatch on
// buildDefinition.buildType.
func Verify(pred *slsa.Provenance, exp Expectations) error {
	if exp == (Expectations{}) {
		return ErrNoExpectations
	}
	if pred == nil {
		return fmt.Errorf("%w: no predicate", ErrMalformed)
	}
	var errs []error
	mismatch := func(field, want, got string) {
		errs = append(errs, &MismatchError{Field: field, Want: want, Got: got})
	}

	builder := pred.GetRunDetails().GetBuilder().GetId()
	if exp.BuilderID != "" && builder != exp.BuilderID {
		mismatch("runDetails.builder.id", exp.BuilderID, builder)
	}
	if exp.BuilderIDPrefix != "" && !strings.HasPrefix(builder, exp.BuilderIDPrefix) {
		mismatch("runDetails.builder.id", exp.BuilderIDPrefix+"…", builder)
	}

	def := pred.GetBuildDefinition()
	if (exp.SourceURI != "" || exp.SourceURIPrefix != "" || exp.Commit != "") && def.GetBuildType() != BuildType {
		mismatch("buildDefinition.buildType", BuildType, def.GetBuildType())
		return errors.Join(errs...)
	}
	source := def.GetExternalParameters().GetFields()["source"].GetStructValue()
	field := func(s *structpb.Struct, k string) string { return s.GetFields()[k].GetStringValue() }

	if exp.SourceURI != "" {
		want := repoKey(exp.SourceURI)
		if got := field(source, "uri"); repoKey(got) != want {
			mismatch("buildDefinition.externalParameters.source.uri", exp.SourceURI, got)
		}
		for i, d := range def.GetResolvedDependencies() {
			if _, ok := d.GetDigest()[string(intoto.AlgorithmGitCommit)]; !ok {
				continue
			}
			repo, _, _ := strings.Cut(strings.TrimPrefix(d.GetUri(), "git+"), "@")
			if repoKey(repo) != want {
				mismatch(fmt.Sprintf("buildDefinition.resolvedDependencies[%d].uri", i), "git+"+exp.SourceURI+"@…", d.GetUri())
			}
		}
	}

	if exp.SourceURIPrefix != "" {
		want := prefixKey(exp.SourceURIPrefix)
		if got := field(source, "uri"); !strings.HasPrefix(repoKey(got)+"/", want) {
			mismatch("buildDefinition.externalParameters.source.uri", exp.SourceURIPrefix+"…", got)
		}
		for i, d := range def.GetResolvedDependencies() {
			if _, ok := d.GetDigest()[string(intoto.AlgorithmGitCommit)]; !ok {
				continue
			}
			repo, _, _ := strings.Cut(strings.TrimPrefix(d.GetUri(), "git+"), "@")
			if !strings.HasPrefix(repoKey(repo)+"/", want) {
				mismatch(fmt.Sprintf("buildDefinition.resolvedDependencies[%d].uri", i), "git+"+exp.SourceURIPrefix+"…", d.GetUri())
			}
		}
	}

	if exp.Commit != "" {
		if err := checkCommitPrefix(exp.Commit); err != nil {
			return err
		}
		got := field(source, "commit")
		if !commitMatches(exp.Commit, got) {
			mismatch("buildDefinition.externalParameters.source.commit", exp.Commit, got)
		}
		for i, d := range def.GetResolvedDependencies() {
			c, ok := d.GetDigest()[string(intoto.AlgorithmGitCommit)]
			if ok && !commitMatches(exp.Commit, c) {
				mismatch(fmt.Sprintf("buildDefinition.resolvedDependencies[%d].digest.gitCommit", i), exp.Commit, c)
			}
		}
	}
	return errors.Join(errs...)
}

// MinCommitPrefix is the shortest commit prefix Expectations.Commit takes:
// git's default abbreviation.
const MinCommitPrefix = 7

// checkCommitPrefix refuses an expected commit that is not hexadecimal or
// shorter than MinCommitPrefix: it could match commits nobody meant.
func checkCommitPrefix(c string) error {
	if len(c) < MinCommitPrefix {
		return fmt.Errorf("%w: commit %q is shorter than %d hex digits", ErrInvalidExpectation, c, MinCommitPrefix)
	}
	for _, r := range c {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return fmt.Errorf("%w: commit %q is not hexadecimal", ErrInvalidExpectation, c)
		}
	}
	return nil
}

// commitMatches reports whether the recorded commit got is want, or starts
// with the prefix want, in any letter case.
func commitMatches(want, got string) bool {
	return len(got) >= len(want) && strings.EqualFold(got[:len(want)], want)
}

// prefixKey is repoKey for a prefix of repositories: the scheme and host
// in lower case, and a trailing "/" kept (a repository's key is compared
// with a "/" appended, so that a prefix naming a whole repository matches
// it, and one ending in "/" only what is under it).
func prefixKey(u string) string {
	u = strings.TrimPrefix(u, "git+")
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	host, path, hasPath := strings.Cut(rest, "/")
	out := strings.ToLower(scheme) + "://" + strings.ToLower(host)
	if hasPath {
		out += "/" + path
	}
	return out
}

// repoKey reduces a repository URL to what identifies it: no "git+" prefix,
// no trailing "/" or ".git", a lower-case scheme and host.
func repoKey(u string) string {
	u = strings.TrimPrefix(u, "git+")
	u = strings.TrimSuffix(u, "/")
	u = strings.TrimSuffix(u, ".git")
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	host, path, _ := strings.Cut(rest, "/")
	return strings.ToLower(scheme) + "://" + strings.ToLower(host) + "/" + path
}
