package api

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/sc-project/sc/pkg/outcome"
)

// Problem is one thing wrong with a configuration, located as precisely as
// the configuration allows.
type Problem struct {
	// File is the configuration file; empty for a configuration built in
	// Go.
	File string `json:"file,omitempty" yaml:"file,omitempty"`
	// Line and Column are 1-based; zero when unknown.
	Line   int `json:"line,omitempty" yaml:"line,omitempty"`
	Column int `json:"column,omitempty" yaml:"column,omitempty"`
	// Path is the dotted key path of the value, such as
	// stacks.prod.security.scan.ignore[0].reason.
	Path string `json:"path,omitempty" yaml:"path,omitempty"`
	// Message says what is wrong, in one sentence.
	Message string `json:"message" yaml:"message"`
}

// String formats p as "file:line:column: path: message", leaving out the
// parts that are unknown.
func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d", p.Line)
			if p.Column > 0 {
				fmt.Fprintf(&b, ":%d", p.Column)
			}
		}
		b.WriteString(": ")
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// ValidationError lists every problem found in a configuration, one per
// line. It is in the outcome.ErrInvalid class (exit code 2).
type ValidationError struct {
	Problems []Problem
}

// Error joins the problems, one per line.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Is places e in the outcome.ErrInvalid class.
func (e *ValidationError) Is(target error) bool { return target == outcome.ErrInvalid }

// problems collects problems without duplicates (the same block inherited
// by several services is reported once), remembering the order in which
// files were first seen so that the main file sorts first.
type problems struct {
	list  []Problem
	seen  map[Problem]bool
	files map[string]int
}

func (ps *problems) add(p Problem) {
	if ps.seen[p] {
		return
	}
	if ps.seen == nil {
		ps.seen = map[Problem]bool{}
	}
	ps.seen[p] = true
	ps.registerFile(p.File)
	ps.list = append(ps.list, p)
}

// registerFile puts file next in the sort order, unless it is known.
func (ps *problems) registerFile(file string) {
	if ps.files == nil {
		ps.files = map[string]int{}
	}
	if _, ok := ps.files[file]; !ok {
		ps.files[file] = len(ps.files)
	}
}

func (ps *problems) empty() bool { return len(ps.list) == 0 }

// sorted returns the problems by file (in the order first seen), line and
// column.
func (ps *problems) sorted() []Problem {
	out := slices.Clone(ps.list)
	slices.SortStableFunc(out, func(a, b Problem) int {
		return cmp.Or(
			cmp.Compare(ps.files[a.File], ps.files[b.File]),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Column, b.Column),
		)
	})
	return out
}

func (ps *problems) err() error {
	if ps.empty() {
		return nil
	}
	return &ValidationError{Problems: ps.sorted()}
}
