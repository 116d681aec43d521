package shard

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/goccy/go-yaml"
)

// Matrix formats of a plan.
const (
	// FormatGitHub is a GitHub Actions matrix, {"include":[{"shard":"1/4"},…]}
	// on one line, for fromJSON() in strategy.matrix.
	FormatGitHub = "github"
	// FormatGitLab is a GitLab CI parallel:matrix block setting SC_SHARD.
	FormatGitLab = "gitlab"
	// FormatJSON is the whole plan: each shard with its services and cost.
	FormatJSON = "json"
)

// Formats lists the formats Write takes.
func Formats() []string { return []string{FormatGitHub, FormatGitLab, FormatJSON} }

// GitLabVariable is the variable the GitLab matrix sets to I/N in each
// job.
const GitLabVariable = "SC_SHARD"

// Write writes the plan in format (FormatGitHub, FormatGitLab or
// FormatJSON), followed by a newline.
//
// Errors: an unknown format; the writer's.
func (p *Plan) Write(w io.Writer, format string) error {
	shards := make([]string, len(p.Shards))
	for i, g := range p.Shards {
		shards[i] = g.Shard.String()
	}
	switch format {
	case FormatGitHub:
		type entry struct {
			Shard string `json:"shard"`
		}
		m := struct {
			Include []entry `json:"include"`
		}{Include: make([]entry, len(shards))}
		for i, s := range shards {
			m.Include[i] = entry{s}
		}
		return json.NewEncoder(w).Encode(m)
	case FormatGitLab:
		b, err := yaml.Marshal(map[string]any{
			"parallel": map[string]any{"matrix": []map[string][]string{{GitLabVariable: shards}}},
		})
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	case FormatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(p)
	}
	return fmt.Errorf("unknown plan format %q", format)
}
