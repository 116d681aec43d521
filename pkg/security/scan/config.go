package scan

import (
	"fmt"
	"os"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/outcome"
)

// PolicyFrom turns the scan block of a security descriptor (or flags mapped
// onto one) into a Policy and validates it. It is the one place that does:
// the executor uses it for the configuration, `sc image scan` for its
// flags.
//
// The block is taken as given, with no defaults filled in: an empty failOn
// or warnOn is no threshold (api.Defaults fills the configuration's). A
// scanner whose thresholds differ from the block's gets its own
// (Policy.Scanners). The VEX documents the block names are read with
// readFile (os.ReadFile when nil), paths as they are.
//
// Errors: a VEX document that cannot be read (outcome.ErrInvalid, naming
// the file), one that is not OpenVEX (ErrMalformedVEX), a policy that does
// not validate (ErrInvalidPolicy). Callers add where the block came from.
func PolicyFrom(cfg *api.Scan, readFile func(string) ([]byte, error)) (Policy, error) {
	if readFile == nil {
		readFile = os.ReadFile
	}
	p := Policy{
		FailOn:    Severity(cfg.FailOn),
		WarnOn:    Severity(cfg.WarnOn),
		SoftFail:  cfg.SoftFail != nil && *cfg.SoftFail,
		OnlyFixed: cfg.OnlyFixed != nil && *cfg.OnlyFixed,
	}
	for _, t := range cfg.Tools {
		if t.FailOn != cfg.FailOn || t.WarnOn != cfg.WarnOn {
			if p.Scanners == nil {
				p.Scanners = map[string]Thresholds{}
			}
			p.Scanners[string(t.Name)] = Thresholds{FailOn: Severity(t.FailOn), WarnOn: Severity(t.WarnOn)}
		}
	}
	for _, r := range cfg.Ignore {
		p.Ignore = append(p.Ignore, IgnoreRule{ID: r.ID, Package: r.Package, Reason: r.Reason, Expires: r.Expires.String()})
	}
	for _, path := range cfg.VEX {
		data, err := readFile(path)
		if err != nil {
			return Policy{}, outcome.Invalidf("vex: reading %s: %w", path, err)
		}
		v, err := ParseVEX(data, path)
		if err != nil {
			return Policy{}, fmt.Errorf("vex: %w", err)
		}
		p.VEX = append(p.VEX, v)
	}
	if err := p.Validate(); err != nil {
		return Policy{}, err
	}
	return p, nil
}
