package options

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/sc-project/sc/pkg/outcome"
)

func TestRootValidateLogLevel(t *testing.T) {
	for _, tt := range []struct {
		level   string
		wantErr bool
	}{
		{level: ""}, {level: "debug"}, {level: "INFO"}, {level: "warn"}, {level: "warning"}, {level: "error"},
		{level: "verbose", wantErr: true}, {level: "trace", wantErr: true}, {level: "3", wantErr: true},
	} {
		t.Run(tt.level, func(t *testing.T) {
			r := &Root{LogLevel: tt.level}
			err := r.Validate()
			if (err != nil) != tt.wantErr {
				t.Fatalf("Validate() = %v, want error %v", err, tt.wantErr)
			}
			if err != nil && (!errors.Is(err, outcome.ErrInvalid) || !strings.Contains(err.Error(), tt.level)) {
				t.Errorf("Validate() = %v, want a usage error naming %q", err, tt.level)
			}
			if r.LogLevel != tt.level {
				t.Errorf("Validate changed LogLevel to %q", r.LogLevel)
			}
		})
	}
}

func TestRootLoggerLevel(t *testing.T) {
	var buf bytes.Buffer
	log := (&Root{LogLevel: "warn"}).Logger(&buf)
	log.Info("hidden")
	log.Warn("shown")
	if strings.Contains(buf.String(), "hidden") || !strings.Contains(buf.String(), "shown") {
		t.Errorf("logger at warn wrote %q", buf.String())
	}
}
