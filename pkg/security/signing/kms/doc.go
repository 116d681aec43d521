// Package kms loads signing keys held in a key management service through
// sigstore's own KMS providers, and is the one place in sc that links them
// (the AWS SDK and Vault's client are heavy: only pkg/security/signing/setup
// imports this package). It supports exactly the schemes of
// api.KMSSchemes:
//
//   - awskms://[ENDPOINT]/KEY — AWS KMS (a key id, key ARN, alias/NAME or
//     alias ARN; an ENDPOINT is reached over HTTPS), through
//     github.com/sigstore/sigstore/pkg/signature/kms/aws;
//   - hashivault://KEY — the transit engine of HashiCorp Vault (or
//     OpenBao), through github.com/sigstore/sigstore/pkg/signature/kms/hashivault.
//
// Credentials, region and addresses are read by those providers from the
// process environment as the AWS SDK and Vault's client read them
// (AWS_REGION, AWS_ACCESS_KEY_ID, AWS_PROFILE, …; VAULT_ADDR, VAULT_TOKEN,
// TRANSIT_SECRET_ENGINE_PATH) — the same variables cosign honours. This
// package reads none itself.
//
// Load returns a signature.SignerVerifier that signing.NewKeySigner takes;
// PublicKey reads a key's public key, for verification. Both talk to the
// KMS once, so an unknown key or an unreachable service fails before
// anything is signed or verified.
//
// What it does not do: it does not create or rotate keys, does not run
// sigstore's KMS plugin programs (sigstore-kms-NAME on PATH: an
// unsupported scheme is refused, never handed to a plugin), and does not
// support gcpkms://, azurekms:// or k8s://.
//
// Tests: awskms:// is tested against local-kms, an AWS KMS emulator
// started on 127.0.0.1 (.ci/localkms.sh installs it). No Vault server
// can be installed here, so hashivault:// is tested against an in-test
// server that speaks the parts of Vault's transit HTTP API the provider
// uses (keys read, sign, verify; internal/testutil/kmstest).
package kms
