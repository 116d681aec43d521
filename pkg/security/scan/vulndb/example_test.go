package vulndb_test

import (
	"context"
	"fmt"
	"os"

	"github.com/sc-project/sc/pkg/security/scan/vulndb"
)

// A machine without network installs a database from a file (here the
// sample database) and opens it once for every scan of the process.
func ExampleStore_Open() {
	ctx := context.Background()
	tmp, _ := os.MkdirTemp("", "example-")
	defer os.RemoveAll(tmp)

	sample, err := vulndb.WriteSample(ctx, tmp+"/sample")
	if err != nil {
		fmt.Println(err)
		return
	}
	store := vulndb.NewStore(tmp+"/vulndb", vulndb.WithAutoUpdate(false))
	st, err := store.Import(ctx, sample)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("usable:", st.Usable(), "source:", st.Source)

	db, err := store.Open(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	fmt.Println("scanner:", db.Name())
	// Output:
	// usable: true source: manual import
	// scanner: grype
}
