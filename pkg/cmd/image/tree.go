package image

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"

	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/registry"
)

func newTree(root *options.Root) *cobra.Command {
	var (
		reg    options.Registry
		output string
	)
	cmd := &cobra.Command{
		Use:   "tree IMAGE",
		Short: "List the signatures, attestations and SBOMs attached to an image",
		Long: `Tree resolves IMAGE to its digest once and lists what is attached to that
digest, in both forms cosign uses:

  - legacy tags sha256-<digest>.sig, .att and .sbom, with one layer per artifact;
  - OCI 1.1 referrers, grouped by artifact type, read through the registry's
    referrers API or, where it has none, from the referrers tag sha256-<digest>.

Only manifests are read: no artifact is downloaded. --output json prints the
same listing as JSON.`,
		Example: `  sc image tree registry.example.com/shop:1.4.0
  sc image tree -o json registry.example.com/shop@sha256:…`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return outcome.Invalidf("--output %q: want text or json", output)
			}
			c, err := reg.Client(root, root.Logger(cmd.ErrOrStderr()), args[0])
			if err != nil {
				return err
			}
			d, err := c.Resolve(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			tree, err := c.Tree(cmd.Context(), d)
			if err != nil {
				return err
			}
			if output == "json" {
				return writeTreeJSON(cmd.OutOrStdout(), tree)
			}
			return writeTree(cmd.OutOrStdout(), tree)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	reg.AddFlags(cmd.Flags())
	return cmd
}

func writeTreeJSON(w io.Writer, tree *registry.Tree) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(tree)
}

// node is one line of the text tree and the lines under it.
type node struct {
	text     string
	children []node
}

func writeTree(w io.Writer, tree *registry.Tree) error {
	top := node{text: tree.Subject.String()}
	for _, l := range tree.Legacy {
		n := node{text: fmt.Sprintf("%s (legacy tag %s, manifest %s)", legacyTitle(l.Suffix), l.Tag.TagStr(), l.Manifest.Digest)}
		for _, layer := range l.Layers {
			n.children = append(n.children, layerNode(layer))
		}
		top.children = append(top.children, n)
	}
	if len(tree.Referrers) > 0 {
		source := "referrers API"
		if !tree.ReferrersAPI {
			source = "referrers tag " + strings.Replace(tree.Subject.DigestStr(), ":", "-", 1)
		}
		refs := node{text: "referrers (" + source + ")"}
		for _, g := range tree.Referrers {
			gn := node{text: g.ArtifactType}
			if g.PredicateType != "" {
				gn.text += ", predicate " + g.PredicateType
			}
			for _, r := range g.Referrers {
				rn := node{text: r.Descriptor.Digest.String(), children: annotationNodes(r.Descriptor.Annotations)}
				for _, layer := range r.Layers {
					rn.children = append(rn.children, layerNode(layer))
				}
				gn.children = append(gn.children, rn)
			}
			refs.children = append(refs.children, gn)
		}
		top.children = append(top.children, refs)
	}
	if len(top.children) == 0 {
		top.children = append(top.children, node{text: "nothing attached"})
	}
	var b strings.Builder
	b.WriteString(top.text + "\n")
	render(&b, top.children, "")
	_, err := io.WriteString(w, b.String())
	return err
}

func legacyTitle(suffix string) string {
	switch suffix {
	case registry.SuffixSignature:
		return "signatures"
	case registry.SuffixAttestation:
		return "attestations"
	case registry.SuffixSBOM:
		return "SBOMs"
	}
	return suffix
}

func layerNode(d v1.Descriptor) node {
	return node{
		text:     fmt.Sprintf("layer %s %s (%d bytes)", d.MediaType, d.Digest, d.Size),
		children: annotationNodes(d.Annotations),
	}
}

// maxAnnotation is the longest annotation value shown as is; longer ones
// (signatures, certificates, bundles) show as their size.
const maxAnnotation = 100

func annotationNodes(ann map[string]string) []node {
	keys := make([]string, 0, len(ann))
	for k := range ann {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []node
	for _, k := range keys {
		out = append(out, node{text: k + ": " + shortValue(ann[k])})
	}
	return out
}

func shortValue(v string) string {
	if len(v) > maxAnnotation || strings.IndexFunc(v, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return fmt.Sprintf("(%d bytes)", len(v))
	}
	return v
}

func render(b *strings.Builder, nodes []node, prefix string) {
	for i, n := range nodes {
		branch, indent := "├── ", "│   "
		if i == len(nodes)-1 {
			branch, indent = "└── ", "    "
		}
		b.WriteString(prefix + branch + n.text + "\n")
		render(b, n.children, prefix+indent)
	}
}
