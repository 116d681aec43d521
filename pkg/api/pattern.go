package api

import (
	"errors"
	"fmt"
	"regexp/syntax"
	"strings"
)

// ErrUnanchored is the class of CheckAnchored's errors about a pattern that
// compiles but can match part of a value.
var ErrUnanchored = errors.New("pattern is not anchored")

// unanchoredAdvice says what an unanchored pattern risks and how to write
// one that is not.
const unanchoredAdvice = "a regular expression matches anywhere in the value, so a value that merely contains a match passes" +
	" (for an identity, a workflow of another repository on a branch named after yours);" +
	` write it as ^…$ around the whole value, such as ^https://github\.com/OWNER/REPO/\.github/workflows/release\.yml@refs/heads/main$`

// CheckAnchored reports whether pattern, a Go regular expression that a
// certificate identity or OIDC issuer must match, matches whole values
// only: it starts with ^ (or \A) and ends with $ (or \z), in every
// alternative, without (?m). Go's regular expressions, like cosign's
// --certificate-identity-regexp, match anywhere in the value:
// github.com/acme/shop/.* is satisfied by
// https://github.com/evil/x/.github/workflows/a.yml@refs/heads/github.com/acme/shop/y.
//
// The error is an ErrUnanchored that names the risk and how to write the
// pattern, or says why the pattern does not compile. Patterns in
// configuration files must be anchored (Validate and Load reject them);
// the command line accepts them for cosign compatibility, and this error
// is the warning to print.
func CheckAnchored(pattern string) error {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return fmt.Errorf("not a valid regular expression: %s", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	if usesMultiLine(re) {
		return fmt.Errorf("%w: `%s` uses (?m), which makes ^ and $ match at every line break; remove it and anchor the whole value with ^…$", ErrUnanchored, pattern)
	}
	if !anchored(re, syntax.OpBeginText, first) || !anchored(re, syntax.OpEndText, last) {
		return fmt.Errorf("%w: `%s`: %s", ErrUnanchored, pattern, unanchoredAdvice)
	}
	return nil
}

func first(subs []*syntax.Regexp) *syntax.Regexp { return subs[0] }
func last(subs []*syntax.Regexp) *syntax.Regexp  { return subs[len(subs)-1] }

// anchored reports whether every match of re begins (or ends) with op:
// re is op itself, a group or a concatenation whose end (pick) is
// anchored, or an alternation of anchored alternatives. Anything else,
// even a pattern that happens to be anchored after an empty-width prefix,
// is not: the check is meant to be read at a glance.
func anchored(re *syntax.Regexp, op syntax.Op, pick func([]*syntax.Regexp) *syntax.Regexp) bool {
	switch re.Op {
	case op:
		return true
	case syntax.OpCapture:
		return anchored(re.Sub[0], op, pick)
	case syntax.OpConcat:
		return len(re.Sub) > 0 && anchored(pick(re.Sub), op, pick)
	case syntax.OpAlternate:
		for _, sub := range re.Sub {
			if !anchored(sub, op, pick) {
				return false
			}
		}
		return len(re.Sub) > 0
	}
	return false
}

// usesMultiLine reports whether re has a ^ or $ that matches at line
// breaks.
func usesMultiLine(re *syntax.Regexp) bool {
	if re.Op == syntax.OpBeginLine || re.Op == syntax.OpEndLine {
		return true
	}
	for _, sub := range re.Sub {
		if usesMultiLine(sub) {
			return true
		}
	}
	return false
}
