package sbom

// WithCatalogueHook calls f before every syft run over an image, so that a
// test can count them.
func WithCatalogueHook(f func()) Option { return func(c *config) { c.onCatalogue = f } }
