package vulndb

import (
	"context"

	"github.com/sc-project/sc/pkg/security/scan"
)

// ScanUncached is Scan asking the database for every package of s, as if
// no other image had been matched before: what the tests compare the
// shared answers with.
func (d *DB) ScanUncached(ctx context.Context, image string, s scan.SBOM) (*scan.Report, error) {
	return d.scan(ctx, image, s, nil)
}

// ForgetMatches empties the DB's memory of matched packages, as a new
// process starts with: for benchmarks, between scans.
func (d *DB) ForgetMatches() {
	d.cache, d.metadata = newMatchCache(), newMetadataCache(d.provider)
}
