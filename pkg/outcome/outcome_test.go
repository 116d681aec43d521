package outcome

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestCode(t *testing.T) {
	notSigned := CheckFailed("image is not signed")
	badConfig := Invalid("bad config")
	unreachable := Operational("registry unreachable")

	tests := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, ExitOK},
		{"check failed sentinel", notSigned, ExitCheckFailed},
		{"wrapped check failed", fmt.Errorf("verifying %s: %w", "img", notSigned), ExitCheckFailed},
		{"invalid", badConfig, ExitInvalid},
		{"invalidf", Invalidf("line %d: %w", 3, errors.New("x")), ExitInvalid},
		{"operational", unreachable, ExitOperational},
		{"canceled", fmt.Errorf("pushing: %w", context.Canceled), ExitOperational},
		{"deadline", context.DeadlineExceeded, ExitOperational},
		{"unclassified", errors.New("boom"), ExitOperational},
		{"joined: operational wins", errors.Join(notSigned, unreachable), ExitOperational},
		{"joined: invalid over check", errors.Join(notSigned, badConfig), ExitInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Code(tt.err); got != tt.want {
				t.Errorf("Code(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

func TestSentinelMessageAndIdentity(t *testing.T) {
	a := CheckFailed("image is not signed")
	b := CheckFailed("image is not signed")
	if a.Error() != "image is not signed" {
		t.Errorf("message = %q", a.Error())
	}
	if errors.Is(a, b) {
		t.Error("two sentinels with the same text must stay distinct")
	}
	if !errors.Is(fmt.Errorf("x: %w", a), a) || !errors.Is(a, ErrCheckFailed) {
		t.Error("sentinel must match itself and its class")
	}
	inner := errors.New("inner")
	w := Operationalf("fetching: %w", inner)
	if !errors.Is(w, inner) || !errors.Is(w, ErrOperational) || w.Error() != "fetching: inner" {
		t.Errorf("Operationalf lost something: %v", w)
	}
}
