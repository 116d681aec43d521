package sbom

import "github.com/sc-project/sc/pkg/outcome"

// Sentinels for the outcomes callers branch on. Each belongs to an outcome
// class, so that the command line maps it to the right exit code.
var (
	// ErrUnknownFormat: a format name sc does not know. Invalid usage.
	ErrUnknownFormat = outcome.Invalid("unknown SBOM format")
	// ErrUnknownScope: a scope name sc does not know. Invalid usage.
	ErrUnknownScope = outcome.Invalid("unknown SBOM scope")
	// ErrSpecVersion: a specification version sc does not write in the
	// chosen format. Invalid usage.
	ErrSpecVersion = outcome.Invalid("unsupported SBOM spec version")
	// ErrInvalidOption: any other option that does not validate (a file
	// selection, a negative parallelism, a missing image). Invalid usage.
	ErrInvalidOption = outcome.Invalid("invalid SBOM option")
	// ErrMalformed: a document that is not an SBOM in the format it was
	// said to be in, or that does not parse. Invalid: it is the input that
	// is wrong. A caller that fetched the document from a signed attestation
	// may treat it as a failed check instead.
	ErrMalformed = outcome.Invalid("malformed SBOM document")
	// ErrImageMismatch: the image handed to Generate is not the one its
	// digest names. Operational: what was served is not what was asked for,
	// and nothing can be said about the image that was.
	ErrImageMismatch = outcome.Operational("image does not match its digest")
	// ErrSubjectMismatch: an SBOM document names another image's digest than
	// the one it is to be scanned or attached for (see Subject.Check and
	// MismatchError, which carries both digests). A failed check: the SBOM
	// is not of this image.
	ErrSubjectMismatch = outcome.CheckFailed("SBOM of another image")
)
