package cache_test

import (
	"context"
	"fmt"
	"os"

	"github.com/sc-project/sc/pkg/security/cache"
)

func ExampleCache() {
	dir, err := os.MkdirTemp("", "sc-cache-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	c, err := cache.New(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg, _ := cache.HashConfig(map[string]string{"format": "spdx-json"})
	key := cache.Key{
		Operation:   "sbom",
		Digest:      "sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b",
		ConfigHash:  cfg,
		ToolVersion: "syft 1.57.0",
	}
	if _, ok, _ := c.Get(ctx, key); !ok {
		// Compute the SBOM, then store it.
		if err := c.Put(ctx, key, []byte(`{"spdxVersion":"SPDX-2.3"}`)); err != nil {
			fmt.Println(err)
			return
		}
	}
	sbom, ok, err := c.Get(ctx, key)
	fmt.Println(string(sbom), ok, err)
	// Output:
	// {"spdxVersion":"SPDX-2.3"} true <nil>
}
