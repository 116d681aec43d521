package version_test

import (
	"fmt"

	"github.com/sc-project/sc/pkg/version"
)

// A result or attestation records the versions that produced it.
func ExampleRead() {
	info := version.Read("v1.2.3") // main passes the version stamped at link time
	fmt.Println(info.Version)
	if grype, ok := info.Module("github.com/anchore/grype"); ok {
		fmt.Println("grype", grype.Version)
	}
	// Output: v1.2.3
}
