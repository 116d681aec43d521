package sbom

// syft's RPM cataloguers read rpmdb.sqlite (RHEL 9, Fedora, Amazon Linux
// 2023) through database/sql's "sqlite" driver, and fail every cataloguing
// run when no such driver is registered. This blank import registers it:
// glebarez/go-sqlite, pure Go, the same driver grype's database packages
// register. It must be this one: modernc.org/sqlite (syft's own choice)
// registers the same driver name, and the two in one binary would panic at
// start-up once the scanner links grype.
import _ "github.com/glebarez/go-sqlite"
