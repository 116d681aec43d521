package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sc-project/sc/pkg/cmd/internal/reportflags"
	"github.com/sc-project/sc/pkg/cmd/options"
	scancmd "github.com/sc-project/sc/pkg/cmd/scan"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/cache"
	"github.com/sc-project/sc/pkg/security/pipeline"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/report"
	"github.com/sc-project/sc/pkg/security/sbom"
	"github.com/sc-project/sc/pkg/security/scan"
	"github.com/sc-project/sc/pkg/security/scan/vulndb"
)

func newScan(root *options.Root) *cobra.Command {
	var (
		reg options.Registry
		db  options.ScanDB
		o   options.Scan
		rep options.Report
		pl  options.Platforms
		at  options.Attest
		// attests is --attest; attestFlags the signing flags it uses
		attests     bool
		attestFlags = pflag.NewFlagSet("attest", pflag.ContinueOnError)
	)
	cmd := &cobra.Command{
		Use:   "scan IMAGE",
		Short: "Scan an image for known vulnerabilities and apply a policy",
		Long: `Scan resolves IMAGE to its digest once, generates its SBOM (pulling the image
once, as 'sc sbom generate' does) or reads the one given with --sbom, and matches
its packages against grype's vulnerability database, in-process. With --tool
trivy or all, the trivy executable (0.74 or later) scans the same SBOM too, with
its database kept in <cache-dir>/trivy; findings of both are merged.

The policy: a finding at or above --fail-on fails the scan (exit 1) unless
--soft-fail; one at or above --warn-on makes the verdict "warn". Findings can be
set aside by --ignore-file rules (each with a reason, optionally a package glob
and an expiry date), by OpenVEX not_affected/fixed statements (--vex), or for
lack of a fix (--only-fixed); the output says what set each aside.

An image index (buildx, ko) is scanned per platform image, each by its own
digest (--platform chooses which; buildx's attestation manifests are skipped):
the verdict is the worst of them, and the output shows each platform.

An SBOM given with --sbom must be of IMAGE: one that names another digest
(CycloneDX metadata.component, the package an SPDX document describes,
syft-json's source) is refused, exit 1, naming both, unless
--allow-sbom-mismatch. Of an index, an SBOM of one of its platform images
(among those --platform selects) is scanned as that platform image. An SBOM
that names no digest, or only the index, is scanned with a warning.

The SBOM and grype's report are cached by image digest in --cache-dir, as 'sc
release create' caches them: a second scan of an unchanged image with the same
database reads no layer, and the policy is applied afresh. A report of an SBOM
given with --sbom is not cached.

The database is updated when missing or older than --db-max-age; without
network, install one with 'sc scan db import'. Exit codes: 0 pass or warn, 1
policy violation, 2 usage, 3 the scan could not run.

Output (-o): a table; json, sc's result (its fields and how grype's JSON maps
onto them are in the README); sarif, the SARIF of --sarif on standard output;
cyclonedx, a CycloneDX 1.6 document of the vulnerabilities, each with the
package it affects and, for findings set aside, the VEX analysis or rule that
set it aside.

Reports: --sarif FILE (SARIF 2.1.0 for GitHub code scanning), --summary FILE
(markdown; appended to $GITHUB_STEP_SUMMARY when that is set), --pr-comment
FILE, and a DefectDojo reimport (--defectdojo-url, API key from
SC_DEFECTDOJO_API_KEY). Each file is checked before the scan starts: one that
cannot be written is a usage error (exit 2). A report that fails later never
hides the verdict: a policy violation still exits 1, and the error says both.

--attest signs the result (each platform image's, for an index) as an
in-toto attestation in cosign's vuln predicate
(https://cosign.sigstore.dev/attestation/vuln/v1, "cosign verify-attestation
--type vuln") and attaches it to the image, with the signing flags of 'sc
attest' (--key, or keyless). When VEX statements (--vex) set findings aside,
those statements are attested too, as an OpenVEX document about the image
("cosign verify-attestation --type openvex"). A result that fails the policy
is not attested (exit 1), as 'sc release create' never signs a violating
image; with --soft-fail it is, verdict and all.`,
		Example: `  sc image scan registry.example.com/shop:1.4.0
  sc image scan --fail-on critical --vex shop.openvex.json -o json registry.example.com/shop@sha256:…
  sc image scan --sbom sbom.cdx.json --tool all registry.example.com/shop@sha256:…`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			if attests {
				if err := at.Validate(); err != nil {
					return err
				}
			} else if err := attestFlagsUnused(attestFlags); err != nil {
				return err
			}
			if err := db.Validate(); err != nil {
				return err
			}
			if err := reportflags.Validate(root, &rep); err != nil {
				return err
			}
			if err := reportflags.CheckOutputs(&rep, reportflags.StepSummary(root)); err != nil {
				return err
			}
			cfg, err := o.Config()
			if err != nil {
				return err
			}
			policy, err := scan.PolicyFrom(cfg, os.ReadFile)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			logger := root.Logger(cmd.ErrOrStderr())

			var doc []byte
			if o.SBOM != "" {
				if doc, err = os.ReadFile(o.SBOM); err != nil {
					return outcome.Invalidf("--sbom: %w", err)
				}
			}
			var (
				input   *vulndb.SBOM
				subject sbom.Subject
			)
			if doc != nil {
				if input, err = vulndb.DecodeSBOM(doc); err != nil {
					return fmt.Errorf("--sbom %s: %w", o.SBOM, err)
				}
				if subject, err = sbom.ReadSubject(doc); err != nil {
					return fmt.Errorf("--sbom %s: %w", o.SBOM, err)
				}
			}
			platforms, err := registry.ParsePlatforms(pl.Platforms)
			if err != nil {
				return fmt.Errorf("--platform: %w", err)
			}
			// the SBOM given is checked before the database is opened: one
			// of another image is refused before anything is scanned
			var img sbomPlatform
			if input != nil {
				if img, err = sbomImage(ctx, root, &reg, logger, args[0], platforms, subject); err != nil {
					return err
				}
				warning, err := subject.Accept(img.Digest, img.Index, o.AllowSBOMMismatch)
				if err != nil {
					return fmt.Errorf("--sbom %s: %w; pass --allow-sbom-mismatch to use it anyway", o.SBOM, err)
				}
				if warning != "" {
					logger.Warn(warning, "sbom", o.SBOM)
				}
			}

			var tools []scan.Tool
			if o.Tool == "grype" || o.Tool == "all" {
				store, err := scancmd.Store(root, &db, logger)
				if err != nil {
					return err
				}
				grype, err := store.Open(ctx)
				if err != nil {
					return err
				}
				defer func() { _ = grype.Close() }()
				tools = append(tools, scan.Tool{Scanner: grype, Required: true})
			}
			if o.Tool == "trivy" || o.Tool == "all" {
				cacheDir, err := db.TrivyCacheDir(root)
				if err != nil {
					return err
				}
				trivy := scan.NewTrivy(cacheDir, scan.WithTrivyPath(o.TrivyPath), scan.WithTrivyLogger(logger), scan.WithTrivyPathHint("--trivy-path"))
				tools = append(tools, scan.Tool{Scanner: trivy, Required: o.Tool == "trivy"})
			}

			var (
				results []*scan.Result
				verdict error
			)
			if input != nil {
				// the SBOM given: no layer is read, and no report is
				// cached (it is of this document, not of the image)
				given := func(context.Context) (scan.SBOM, error) { return input, nil }
				scanned, err := pipeline.ScanDigest(ctx, img.Digest, given, tools, policy, pipeline.ScanOptions{Logger: logger})
				if err != nil {
					return err
				}
				if scanned.Result.Platform == "" {
					scanned.Result.Platform = img.Name()
				}
				results, verdict = []*scan.Result{scanned.Result}, scanned.Result.Err()
			} else {
				client, err := reg.Client(root, logger, args[0])
				if err != nil {
					return err
				}
				// the SBOM and the reports cached as `sc release create`
				// caches them: an unchanged image is not read again; an
				// index is scanned per platform image
				c, err := db.Cache.Open(root, cache.WithLogger(logger))
				if err != nil {
					return err
				}
				scanned, err := pipeline.ScanImage(ctx, client, args[0], tools, policy, pipeline.ScanOptions{Cache: c, Logger: logger, Platforms: platforms})
				if err != nil {
					return err
				}
				results, verdict = scanned.Results(), scanned.Err()
			}
			err = writeScan(cmd.OutOrStdout(), o.Output, root.Version, results)
			if err != nil {
				err = outcome.Operationalf("writing the scan result: %w", err)
			}
			// Reports are written even when the policy fails; a policy
			// failure keeps its exit code when a report cannot be written.
			err = errors.Join(err, reportflags.Write(ctx, root, &rep, reportflags.StepSummary(root), results...))
			if attests && verdict == nil && err == nil {
				err = attestScan(cmd, root, &reg, &at, args[0], results, logger, cmd.ErrOrStderr())
			}
			return reportflags.WithVerdict(verdict, err)
		},
	}
	o.AddFlags(cmd.Flags())
	db.AddFlags(cmd.Flags())
	reg.AddFlags(cmd.Flags())
	rep.AddFlags(cmd.Flags())
	pl.AddFlags(cmd.Flags())
	cmd.Flags().BoolVar(&attests, "attest", false, "attach the result as a signed vuln attestation (cosign's vuln predicate), and the VEX statements that set findings aside as an OpenVEX one, signed as --key or keylessly")
	at.AddFlags(attestFlags)
	cmd.Flags().AddFlagSet(attestFlags)
	return cmd
}

// writeScan writes the scan result of an image, or of each platform image
// of an index: as JSON, one result (or a report document of all, with the
// worst verdict), or as tables, one per platform under its name.
func writeScan(w io.Writer, format, version string, results []*scan.Result) error {
	switch {
	case format == "sarif":
		// one run per image or platform image
		return report.WriteSARIF(w, results, report.WithToolVersion(version))
	case format == "cyclonedx" && len(results) == 1:
		return report.WriteCycloneDX(w, results[0], report.WithToolVersion(version))
	case format == "cyclonedx":
		return outcome.Invalidf("-o cyclonedx writes one image's result; choose a platform with --platform (this index has %d)", len(results))
	case len(results) == 1 && format == "json":
		return report.WriteResultJSON(w, results[0])
	case len(results) == 1:
		return report.WriteTable(w, results[0])
	case format == "json":
		return report.WriteJSON(w, results)
	}
	for i, r := range results {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "PLATFORM %s\n", r.Platform)
		if err := report.WriteTable(w, r); err != nil {
			return err
		}
	}
	return nil
}

// sbomPlatform is the image an SBOM given with --sbom is scanned as.
type sbomPlatform struct {
	registry.PlatformImage
	// Index is the digest of the index the image was chosen from, "" when
	// it was not.
	Index string
}

// sbomImage is the image the SBOM given with --sbom is scanned as: image by
// digest, as given when it is one or else resolved once; or, when that is
// an index, the platform image (among those the selection leaves) that the
// SBOM names, or the only one the selection leaves. The registry is asked
// only when it takes the registry to tell: a digest given that the SBOM
// names, or an SBOM that names none, needs no network.
func sbomImage(ctx context.Context, root *options.Root, reg *options.Registry, logger *slog.Logger, image string, sel []v1.Platform, s sbom.Subject) (sbomPlatform, error) {
	var client *registry.Client
	d, err := name.NewDigest(image)
	if err != nil {
		if client, err = reg.Client(root, logger, image); err != nil {
			return sbomPlatform{}, err
		}
		if d, err = client.Resolve(ctx, image); err != nil {
			return sbomPlatform{}, err
		}
	}
	one := sbomPlatform{PlatformImage: registry.PlatformImage{Digest: d}}
	if len(sel) == 0 && (len(s.Digests) == 0 || s.Names(d.DigestStr())) {
		return one, nil
	}
	if client == nil {
		if client, err = reg.Client(root, logger, image); err != nil {
			return sbomPlatform{}, err
		}
	}
	ps, err := client.Platforms(ctx, d, sel...)
	if err != nil {
		return sbomPlatform{}, fmt.Errorf("telling whether %s is an index of the image the SBOM describes: %w", d, err)
	}
	if !ps.Index {
		return one, nil
	}
	for _, img := range ps.Images {
		if s.Names(img.Digest.DigestStr()) {
			return sbomPlatform{PlatformImage: img, Index: d.DigestStr()}, nil
		}
	}
	if len(ps.Images) == 1 {
		return sbomPlatform{PlatformImage: ps.Images[0], Index: d.DigestStr()}, nil
	}
	return one, nil
}
