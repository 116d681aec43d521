// Command pushfixtures prepares a release for the benchmark scripts: it
// pushes the images of a release of N services to a registry, and writes
// next to them a stack file naming them, a cosign key pair to sign them
// with, and the sample vulnerability database to scan them offline.
//
// The images are the fixture images (internal/fixture, sharing their lower
// layers), or with --rootfs a real root filesystem (a debootstrap tarball,
// gzipped or not) as the one shared base layer plus one small layer of its
// own per service.
//
// It is a benchmark helper, not part of sc: it talks only to the registry
// it is given (a loopback one in the benchmark) and writes only into --dir.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/crane"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"golang.org/x/sync/errgroup"

	"github.com/sc-project/sc/internal/fixture"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/scan/vulndb"
	"github.com/sc-project/sc/pkg/security/signing"
)

// Password is the key pair's password; the benchmark passes it to sc as
// $SC_KEY_PASSWORD.
const Password = "bench"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "pushfixtures:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("pushfixtures", flag.ContinueOnError)
	reg := fs.String("registry", "", "registry host:port to push to (required)")
	prefix := fs.String("prefix", "bench", "repository prefix: images are <registry>/<prefix>/service-NN")
	count := fs.Int("count", 9, "number of services")
	dir := fs.String("dir", "", "directory for sc.yaml, cosign.key, cosign.pub and vulnerability.db (required)")
	rootfs := fs.String("rootfs", "", "a root filesystem tarball to use as every service's base layer instead of the fixture images")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *reg == "" || *dir == "" || *count < 1 {
		return errors.New("--registry, --dir and a positive --count are required")
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}

	imgs, err := images(*rootfs, *count)
	if err != nil {
		return err
	}
	client := registry.New()
	refs := make([]string, len(imgs))
	var g errgroup.Group
	g.SetLimit(4)
	for i, img := range imgs {
		refs[i] = fmt.Sprintf("%s/%s/%s:%s", *reg, *prefix, fixture.ServiceName(i), fixture.Version)
		g.Go(func() error {
			ref, err := client.ParseReference(refs[i])
			if err != nil {
				return err
			}
			if err := remote.Write(ref, img, client.RemoteOptions(ctx)...); err != nil {
				return fmt.Errorf("pushing %s: %w", refs[i], err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}

	key := filepath.Join(*dir, "cosign.key")
	if _, err := os.Stat(key); errors.Is(err, os.ErrNotExist) {
		kp, err := signing.GenerateKeyPair([]byte(Password))
		if err != nil {
			return err
		}
		if err := os.WriteFile(key, kp.PrivatePEM, 0o600); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(*dir, "cosign.pub"), kp.PublicPEM, 0o644); err != nil {
			return err
		}
	}
	if _, err := os.Stat(filepath.Join(*dir, "vulnerability.db")); errors.Is(err, os.ErrNotExist) {
		if _, err := vulndb.WriteSample(ctx, *dir); err != nil {
			return fmt.Errorf("writing the sample database: %w", err)
		}
	}

	var b strings.Builder
	b.WriteString(`# Written by bench/cmd/pushfixtures.
stacks:
  bench:
    security:
      signing: {privateKey: cosign.key, tlogUpload: false}
      provenance: {builder: {id: "https://example.com/bench"}}
      scan: {softFail: true}
    services:
`)
	for i, ref := range refs {
		fmt.Fprintf(&b, "      %s: {image: %q}\n", fixture.ServiceName(i), ref)
	}
	stack := filepath.Join(*dir, *prefix+".yaml")
	if err := os.WriteFile(stack, []byte(b.String()), 0o644); err != nil {
		return err
	}
	fmt.Println(stack)
	return nil
}

// images returns the release's n images: the fixture images, or with a
// rootfs tarball that tarball as the shared base layer under a small layer
// per service (an application file, as a service's own build adds).
func images(rootfs string, n int) ([]v1.Image, error) {
	if rootfs == "" {
		return fixture.Images(n)
	}
	base, err := tarball.LayerFromFile(rootfs)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", rootfs, err)
	}
	cfg := &v1.ConfigFile{OS: "linux", Architecture: "amd64", Config: v1.Config{
		Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		Cmd: []string{"/srv/app/run"},
	}}
	imgs := make([]v1.Image, n)
	for i := range imgs {
		name := fixture.ServiceName(i)
		own, err := crane.Layer(map[string][]byte{
			"srv/app/run":          []byte("#!/bin/sh\necho " + name + "\n"),
			"srv/app/service.json": []byte(`{"name":"` + name + `","version":"` + fixture.Version + `"}`),
		})
		if err != nil {
			return nil, err
		}
		img, err := mutate.ConfigFile(empty.Image, cfg)
		if err != nil {
			return nil, err
		}
		if imgs[i], err = mutate.AppendLayers(img, base, own); err != nil {
			return nil, err
		}
	}
	return imgs, nil
}
