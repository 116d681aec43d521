package sbom

import "context"

// WithCatalogueHook calls f before every syft run over an image, so that a
// test can count them.
func WithCatalogueHook(f func()) Option { return func(c *config) { c.onCatalogue = f } }

// LicenseScannerStarted reports whether the license scanner ctx carries
// (from Prepare) has been asked for.
func LicenseScannerStarted(ctx context.Context) bool {
	l, _ := ctx.Value(scannerKey{}).(*licenseScanner)
	return l != nil && l.started.Load()
}
