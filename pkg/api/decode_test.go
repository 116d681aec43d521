package api

import (
	"strings"
	"testing"
)

func TestTooDeep(t *testing.T) {
	deep := strings.Repeat("[", maxNestDepth+1)
	for _, c := range []struct {
		name, text string
		want       int
	}{
		{"shallow", "a: [[{b: c}]]\n", 0},
		{"deep", "a: 1\nb: " + deep, 2},
		{"deep after an apostrophe", "a: don't\nb: " + deep, 2},
		{"brackets in a quoted string", "a: '" + deep + "'\n", 0},
		{"brackets in a double-quoted string", "a: \"\\\"" + deep + "\"\n", 0},
		{"brackets in a comment", "a: 1 # " + deep + "\n", 0},
		{"closing brackets do not go below zero", strings.Repeat("]", 100) + strings.Repeat("[", maxNestDepth), 0},
	} {
		if got := tooDeep([]byte(c.text)); got != c.want {
			t.Errorf("%s: tooDeep = %d, want %d", c.name, got, c.want)
		}
	}
}

func TestSuggest(t *testing.T) {
	candidates := []string{"format", "output", "attach", "required", "scope", "enabled", "failOn", "softFail"}
	for in, want := range map[string]string{
		"fromat":    "format", // a swap is one edit
		"Format":    "format", // letter case is ignored
		"fail_on":   "failOn",
		"softfail":  "softFail",
		"ouput":     "output",
		"requried":  "required",
		"colour":    "",
		"x":         "",
		"enable":    "enabled",
		"atach":     "attach",
		"something": "",
		"req":       "required", // an abbreviation
		"re":        "",         // too short to tell
	} {
		if got := suggest(in, candidates); got != want {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "", 3}, {"abc", "abc", 0}, {"abc", "acb", 1}, {"kitten", "sitting", 3}, {"ca", "abc", 3},
	} {
		if got := editDistance(c.a, c.b); got != c.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestParentPath(t *testing.T) {
	for in, want := range map[string]string{
		"a.b[2].c": "a.b[2]",
		"a.b[2]":   "a.b",
		"a.b":      "a",
		"a":        "",
		"":         "",
	} {
		if got := parentPath(in); got != want {
			t.Errorf("parentPath(%q) = %q, want %q", in, got, want)
		}
	}
}
