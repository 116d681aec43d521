package registry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"syscall"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/httpretry"
)

// Sentinels for the outcomes callers branch on. Every error returned by a
// Client method wraps at most one of them, and each belongs to an outcome
// class so that the command line maps it to the right exit code.
var (
	// ErrNotFound: the registry answered that the image, tag or artifact does
	// not exist (HTTP 404). Operational: the check could not run on it.
	ErrNotFound = outcome.Operational("not found")
	// ErrUnauthorized: the registry refused the credentials, or asked for
	// credentials that were not given (HTTP 401/403).
	ErrUnauthorized = outcome.Operational("unauthorized")
	// ErrUnreachable: the registry could not be reached or kept failing
	// (connection errors, timeouts, 429 and 5xx answers) after the retries.
	ErrUnreachable = outcome.Operational("registry unreachable")
	// ErrMalformed: the registry served content that is not what it should
	// be (a fallback tag that is not an index, a referrer for another
	// subject, an answer past a limit: *LimitError, a redirect into the
	// local machine). Operational: sc cannot tell what is attached; callers
	// that verify treat it as a failed check instead.
	ErrMalformed = outcome.Operational("malformed registry content")
	// ErrNoSuchImage: the registry has no manifest for the reference (a
	// misspelled tag, a digest that was never pushed). Invalid usage (exit
	// 2), not an operational failure: retrying cannot make it appear.
	ErrNoSuchImage = outcome.Invalid("no such image")
	// ErrInvalidReference: an image reference does not parse. Invalid usage.
	ErrInvalidReference = outcome.Invalid("invalid image reference")
	// ErrInsecureHTTP: a plain-HTTP request to a registry that is not on the
	// loopback interface was refused. Invalid usage: the user has to allow
	// it explicitly.
	ErrInsecureHTTP = outcome.Invalid("plain-HTTP access to a registry outside the loopback interface refused " +
		"(allow it with --allow-insecure-registry, WithInsecureHTTP in the library)")
)

// noSuchImage says which tag or digest of which repository does not exist.
// It leaves out the registry's own text (for a HEAD request, go-containerregistry's
// "HEAD responses have no body").
func noSuchImage(r name.Reference) error {
	what := "tag " + strconv.Quote(r.Identifier())
	if _, ok := r.(name.Digest); ok {
		what = "digest " + r.Identifier()
	}
	return fmt.Errorf("%w: %s does not exist in repository %s", ErrNoSuchImage, what, r.Context().Name())
}

// annotate wraps err with what was being done and on what (what names the
// image), adding the sentinel that matches the failure when err carries no
// class yet.
func annotate(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	msg := fmt.Sprintf(format, args...)
	if s := classify(err); s != nil {
		return fmt.Errorf("%s: %w: %w", msg, s, err)
	}
	return fmt.Errorf("%s: %w", msg, err)
}

// classify picks the sentinel for err, or nil when err already has a class,
// is a cancellation, or matches none.
func classify(err error) error {
	switch {
	case errors.Is(err, outcome.ErrInvalid),
		errors.Is(err, outcome.ErrOperational),
		errors.Is(err, outcome.ErrCheckFailed),
		errors.Is(err, context.Canceled):
		return nil
	}
	var terr *transport.Error
	if errors.As(err, &terr) {
		switch {
		case terr.StatusCode == http.StatusNotFound:
			return ErrNotFound
		case terr.StatusCode == http.StatusUnauthorized, terr.StatusCode == http.StatusForbidden:
			return ErrUnauthorized
		case terr.StatusCode == http.StatusTooManyRequests, terr.StatusCode >= 500,
			terr.StatusCode == http.StatusRequestTimeout:
			return ErrUnreachable
		}
		for _, d := range terr.Errors {
			switch d.Code {
			case transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode, transport.BlobUnknownErrorCode:
				return ErrNotFound
			case transport.UnauthorizedErrorCode, transport.DeniedErrorCode:
				return ErrUnauthorized
			}
		}
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return ErrUnreachable
	}
	var operr *net.OpError
	var dnserr *net.DNSError
	if httpretry.Transient(err) || errors.As(err, &operr) || errors.As(err, &dnserr) ||
		errors.Is(err, syscall.ECONNREFUSED) {
		return ErrUnreachable
	}
	return nil
}
