package signing

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/verify"
)

// failure is the kind of verification failure a library error reports:
// what the reason given to users says before the library's own detail.
type failure int

const (
	// failureOther is an error not recognised: its own message is the
	// reason.
	failureOther failure = iota
	failureIdentity
	failureDigest
	failureValidity
	failureTlog
	failureSCT
	failureCertificate
	failureSignature
	failureAnnotations
)

// explain turns a verification error from sigstore-go or cosign into a
// reason a user can act on, keeping the library's detail after a colon.
// keyPolicy tells a key policy from an identity policy, whose signature
// failures read differently.
func explain(err error, keyPolicy bool) error {
	switch classify(err) {
	case failureIdentity:
		return fmt.Errorf("certificate identity does not match the policy: %w", err)
	case failureDigest:
		return fmt.Errorf("signature is for another image: %w", err)
	case failureValidity:
		return fmt.Errorf("certificate was not valid when used (the log entry or timestamp is outside its validity): %w", err)
	case failureTlog:
		return fmt.Errorf("transparency log entry does not verify against the trusted root: %w", err)
	case failureSCT:
		return fmt.Errorf("certificate has no valid signed certificate timestamp from a trusted CT log: %w", err)
	case failureCertificate:
		return fmt.Errorf("certificate is not trusted or was not valid when used (no log entry or timestamp proves the signing time): %w", err)
	case failureSignature:
		if keyPolicy {
			return fmt.Errorf("signature does not verify with the given key (wrong key, or tampered content): %w", err)
		}
		return fmt.Errorf("signature does not match the signed content (tampered): %w", err)
	case failureAnnotations:
		return fmt.Errorf("signed annotations do not match the policy: %w", err)
	}
	return err
}

// failureRule recognises one kind of failure: by an error type the
// library exports (is), or, where the library gives none, by a piece of its
// message (messages).
type failureRule struct {
	failure  failure
	is       func(error) bool
	messages []string
}

// failureRules are the rules classify applies, first match wins: an error
// often carries several layers of messages (sigstore-go's "failed to verify
// signature: provided artifact digest does not match…"), and the order
// says which layer decides.
//
// The libraries give few types. sigstore-go exports its certificate
// identity mismatches and ErrVerification; cosign's VerificationFailure
// wraps every kind of failure alike, and securesystemslib's DSSE threshold
// error, sigstore-go's log, timestamp, SCT and artifact checks and cosign's
// claim and expiry checks are plain fmt.Errorf / errors.New values. Those
// are matched by message, here and nowhere else; each message has a test
// (explain_test.go) that makes the library produce it, so that an upgrade
// that rewords one fails the test instead of changing a verdict.
func failureRules() []failureRule {
	return []failureRule{
		{failure: failureIdentity, is: identityMismatch, messages: []string{
			"none of the expected identities matched", // cosign CheckCertificatePolicy
		}},
		{failure: failureDigest, messages: []string{
			"artifact digest",                    // sigstore-go verifySignatureWithArtifactDigests
			"invalid or missing digest in claim", // cosign SimpleClaimVerifier
		}},
		{failure: failureValidity, messages: []string{
			"outside certificate validity", // sigstore-go VerifyTlogEntry
			"certificate expired",          // cosign CheckExpiry
		}},
		{failure: failureTlog, messages: []string{
			"log inclusion",               // sigstore-go Verify
			"log entr",                    // sigstore-go VerifyTlogEntry, VerifyObserverTimestamps
			"offline verification failed", // cosign verifyInternal
			"rekor client not provided",   // cosign verifyInternal
			"verifying bundle",            // cosign verifyInternal, VerifyBundle
		}},
		{failure: failureSCT, messages: []string{
			"signed certificate timestamp", // sigstore-go Verify
			"SCT",                          // sigstore-go VerifySignedCertificateTimestamp, cosign
		}},
		{failure: failureCertificate, messages: []string{
			"leaf certificate", // sigstore-go verifyLeafCertificate
			"expired",          // cosign verifyInternal, crypto/x509
			"not yet valid",    // crypto/x509
			"signed timestamp", // sigstore-go VerifySignedTimestampWithThreshold
			"x509:",            // crypto/x509
			"checking expiry",  // cosign verifyInternal
		}},
		{failure: failureSignature, is: isVerificationError, messages: []string{
			"failed to verify signature",                 // sigstore-go Verify
			"invalid signature",                          // sigstore ECDSA verifier
			"accepted signatures do not match threshold", // securesystemslib DSSE verifier
		}},
		{failure: failureAnnotations, messages: []string{
			"annotation", // cosign SimpleClaimVerifier, IntotoSubjectClaimVerifier
		}},
	}
}

// classify tells what kind of failure err, from sigstore-go's or cosign's
// verification, reports: failureOther when no rule knows it.
func classify(err error) failure {
	msg := err.Error()
	for _, r := range failureRules() {
		if r.is != nil && r.is(err) {
			return r.failure
		}
		for _, m := range r.messages {
			if strings.Contains(msg, m) {
				return r.failure
			}
		}
	}
	return failureOther
}

// identityMismatch recognises sigstore-go's certificate identity
// mismatches (the error of WithCertificateIdentity, and the value errors
// it collects).
func identityMismatch(err error) bool {
	var (
		none  *verify.ErrNoMatchingCertificateIdentity
		value *verify.ErrValueMismatch
		regex *verify.ErrValueRegexMismatch
	)
	return errors.As(err, &none) || errors.As(err, &value) || errors.As(err, &regex)
}

// isVerificationError recognises sigstore-go's ErrVerification.
func isVerificationError(err error) bool {
	var ve verify.ErrVerification
	return errors.As(err, &ve)
}
