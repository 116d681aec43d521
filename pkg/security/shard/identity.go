package shard

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/sc-project/sc/pkg/api"
)

// Identity names the release a result belongs to. Two results are parts
// of the same release when their ConfigDigest, Stack and Services are
// equal; Shard says which part.
type Identity struct {
	// ConfigDigest is the digest of the resolved configuration (see
	// ConfigDigest), sha256:<hex>.
	ConfigDigest string `json:"configDigest"`
	// Stack is the stack released; empty for a compose file.
	Stack string `json:"stack,omitempty"`
	// Services names every service of the release (the whole release, not
	// only this shard's), in the configuration's order.
	Services []string `json:"services"`
	// Shard is the part of the release the result holds; nil for the whole
	// release.
	Shard *Shard `json:"shard,omitempty"`
}

// NewIdentity returns the identity of the release of the services of rel
// (those selected, in rel's order), for the shard s, or for the whole
// release when s is nil.
//
// Errors: ConfigDigest's.
func NewIdentity(rel *api.Release, services []api.Service, s *Shard) (*Identity, error) {
	d, err := ConfigDigest(rel)
	if err != nil {
		return nil, err
	}
	id := &Identity{ConfigDigest: d, Stack: rel.Stack, Services: make([]string, len(services)), Shard: s}
	for i, svc := range services {
		id.Services[i] = svc.Name
	}
	return id, nil
}

// ConfigDigest returns the SHA-256 of the resolved configuration of rel:
// the stack and every service with its effective security block, as JSON
// (secrets as the references written in the file, never their values). It
// does not depend on the file's path or the load's warnings: the same
// configuration checked out in another directory, on another runner, has
// the same digest; any change to what a service does changes it.
//
// Errors: a configuration that does not marshal (none the loader returns).
func ConfigDigest(rel *api.Release) (string, error) {
	b, err := json.Marshal(struct {
		Stack    string        `json:"stack"`
		Services []api.Service `json:"services"`
	}{rel.Stack, rel.Services})
	if err != nil {
		return "", fmt.Errorf("digesting the configuration: %w", err)
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}
