package shard

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sc-project/sc/pkg/outcome"
)

// Shard is one shard of a release split into Total shards: shard Index of
// Total, from 1, written I/N ("2/4") as CI matrices and --shard give it.
type Shard struct {
	// Index is the shard's number, 1 to Total.
	Index int
	// Total is how many shards the release is split into, at least 1.
	Total int
}

// Parse reads I/N ("2/4"). Anything else, a zero or negative number or I
// greater than N is an outcome.ErrInvalid error quoting s.
func Parse(s string) (Shard, error) {
	i, n, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Shard{}, outcome.Invalidf("shard %q: want I/N, shard I of N (1/4)", s)
	}
	index, err1 := strconv.Atoi(i)
	total, err2 := strconv.Atoi(n)
	if err1 != nil || err2 != nil {
		return Shard{}, outcome.Invalidf("shard %q: want I/N with whole numbers (1/4)", s)
	}
	sh := Shard{Index: index, Total: total}
	if err := sh.Validate(); err != nil {
		return Shard{}, err
	}
	return sh, nil
}

// Validate checks that 1 <= Index <= Total.
func (s Shard) Validate() error {
	switch {
	case s.Total < 1:
		return outcome.Invalidf("shard %s: the number of shards must be at least 1", s)
	case s.Index < 1 || s.Index > s.Total:
		return outcome.Invalidf("shard %s: the shard must be between 1 and %d", s, s.Total)
	}
	return nil
}

// String returns I/N.
func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Total) }

// MarshalText returns I/N.
func (s Shard) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads I/N as Parse does.
func (s *Shard) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}
