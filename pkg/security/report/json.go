package report

import (
	"encoding/json"
	"io"

	"github.com/sc-project/sc/pkg/security/scan"
)

// Document is the JSON of several images' results (a release): the worst
// verdict and every result, each in scan.Result's JSON. The JSON of one
// image is WriteResultJSON's.
type Document struct {
	// SchemaVersion is scan.SchemaVersion: the document changes with the
	// results it holds.
	SchemaVersion string `json:"schemaVersion"`
	// Verdict is the most severe verdict of Results (see Worst).
	Verdict scan.VerdictStatus `json:"verdict"`
	// Results are the images' results, in the order given.
	Results []*scan.Result `json:"results"`
}

// WriteJSON writes results as an indented Document, without HTML escaping
// (package URLs read as they are).
//
// Errors: ErrNoResults; the writer's error.
func WriteJSON(w io.Writer, results []*scan.Result) error {
	if err := check(results); err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(Document{SchemaVersion: scan.SchemaVersion, Verdict: Worst(results), Results: results})
}

// WriteResultJSON writes the result of one image as indented JSON, the
// schema of package scan's documentation, as `sc image scan -o json` prints
// it; without HTML escaping, so that package URLs read as they are.
//
// Errors: ErrNoResults for a nil result; the writer's error.
func WriteResultJSON(w io.Writer, r *scan.Result) error {
	if err := check([]*scan.Result{r}); err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
