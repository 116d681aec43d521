package api

import (
	"embed"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"io/fs"
	"reflect"
	"strings"

	"github.com/invopop/jsonschema"
)

// The schema's descriptions are the Go field comments of the configuration
// types. The source files holding those types are embedded so that the
// binary can produce the schema without its source tree.
//
//go:embed security.go stackfile.go policy.go
var typeSources embed.FS

// SchemaID is the $id of the JSON Schema.
const SchemaID = "https://github.com/sc-project/sc/schema/sc.schema.json"

// Schema returns the JSON Schema (draft 2020-12) of sc's configuration
// files, generated from the Go types: an sc stack file, or a
// docker-compose file with x-sc-security blocks. Editors use it for
// completion and checking; it checks structure, names, types and
// enumerations, while Load also checks values against each other.
func Schema() ([]byte, error) {
	defs, err := reflectDefinitions(&StackFile{})
	if err != nil {
		return nil, err
	}

	namePattern := &jsonschema.Schema{Pattern: nameRE.String()}
	if sf := defs["StackFile"]; sf != nil {
		if p, ok := sf.Properties.Get("stacks"); ok {
			p.PropertyNames = namePattern
		}
		if p, ok := sf.Properties.Get("version"); ok {
			p.Enum = []any{1}
		}
	}
	if st := defs["StackSpec"]; st != nil {
		if p, ok := st.Properties.Get("services"); ok {
			p.PropertyNames = namePattern
		}
	}
	if svc := defs["ServiceSpec"]; svc != nil {
		svc.Required = []string{"image"}
	}
	if v := defs["Verify"]; v != nil {
		if p, ok := v.Properties.Get("identityRegexp"); ok {
			// an editor's hint; CheckAnchored has the last word
			p.Pattern = `^(\^|\\A)[\s\S]*(\$|\\z)$`
		}
	}
	defs["ComposeFile"] = composeSchema()

	root := &jsonschema.Schema{
		Version:     jsonschema.Version,
		ID:          SchemaID,
		Title:       "sc configuration",
		Description: "An sc stack file (stacks of services with security blocks), or a docker-compose file whose x-sc-security blocks configure sc.",
		If: &jsonschema.Schema{
			Required: []string{"services"},
			Not:      &jsonschema.Schema{Required: []string{"stacks"}},
		},
		Then:        &jsonschema.Schema{Ref: "#/$defs/ComposeFile"},
		Else:        &jsonschema.Schema{Ref: "#/$defs/StackFile"},
		Definitions: defs,
	}
	b, err := json.MarshalIndent(root, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// reflectDefinitions reflects v's type and those it holds into schema
// definitions, by their yaml names, with the Go field comments of
// typeSources as descriptions: what Schema and PolicySchema start from.
func reflectDefinitions(v any) (jsonschema.Definitions, error) {
	comments, err := goComments(typeSources, reflect.TypeFor[Security]().PkgPath())
	if err != nil {
		return nil, fmt.Errorf("reading field comments: %w", err)
	}
	r := &jsonschema.Reflector{
		FieldNameTag:               "yaml",
		RequiredFromJSONSchemaTags: true,
		Mapper:                     schemaFor,
		CommentMap:                 comments,
	}
	return r.Reflect(v).Definitions, nil
}

// PolicySchemaID is the $id of the policy file's JSON Schema.
const PolicySchemaID = "https://github.com/sc-project/sc/schema/sc-policy.schema.json"

// PolicySchema returns the JSON Schema (draft 2020-12) of a policy file
// (ImagePolicy), generated from the Go types as Schema is. It checks
// structure, names, types and enumerations; LoadPolicy also checks values
// against each other (a signer is a key or an identity, regular
// expressions are anchored, predicate types exist).
func PolicySchema() ([]byte, error) {
	defs, err := reflectDefinitions(&ImagePolicy{})
	if err != nil {
		return nil, err
	}
	if p := defs["ImagePolicy"]; p != nil {
		p.Required = []string{"apiVersion", "kind", "name", "signers"}
		if v, ok := p.Properties.Get("apiVersion"); ok {
			v.Const = PolicyAPIVersion
		}
		if v, ok := p.Properties.Get("kind"); ok {
			v.Const = ImagePolicyKind
		}
		if v, ok := p.Properties.Get("name"); ok {
			v.Pattern = policyNameRE.String()
		}
		if v, ok := p.Properties.Get("signers"); ok {
			v.MinItems = new(uint64(1))
		}
	}
	if a := defs["PolicyAttestation"]; a != nil {
		a.Required = []string{"type"}
	}
	if v := defs["VulnRequirement"]; v != nil {
		if p, ok := v.Properties.Get("maxSeverity"); ok {
			p.Enum = append(p.Enum, string(MaxSeverityNone))
		}
	}
	if s := defs["PolicySigner"]; s != nil {
		for _, key := range []string{"subjectRegExp", "issuerRegExp"} {
			if p, ok := s.Properties.Get(key); ok {
				// an editor's hint; CheckAnchored has the last word
				p.Pattern = `^(\^|\\A)[\s\S]*(\$|\\z)$`
			}
		}
	}
	if m := defs["Match"]; m != nil {
		m.OneOf = []*jsonschema.Schema{{Required: []string{"exact"}}, {Required: []string{"prefix"}}}
	}
	root := &jsonschema.Schema{
		Version:     jsonschema.Version,
		ID:          PolicySchemaID,
		Title:       "sc image policy",
		Description: "What a deployable image must carry: the signers and the attestations `sc verify --policy` checks.",
		Ref:         "#/$defs/ImagePolicy",
		Definitions: defs,
	}
	b, err := json.MarshalIndent(root, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// composeSchema describes the parts of a compose file sc reads; everything
// else is left to compose.
func composeSchema() *jsonschema.Schema {
	service := &jsonschema.Schema{Type: "object", Properties: jsonschema.NewProperties()}
	service.Properties.Set("image", &jsonschema.Schema{Type: "string", Description: "The image reference sc secures; services without one are skipped."})
	service.Properties.Set("x-sc-security", &jsonschema.Schema{Ref: "#/$defs/Security", Description: "sc's security configuration for this service, over the file's x-sc-security."})

	file := &jsonschema.Schema{
		Type:        "object",
		Description: "A docker-compose file; sc reads each service's image and build, and the x-sc-security extension fields.",
		Required:    []string{"services"},
		Properties:  jsonschema.NewProperties(),
	}
	file.Properties.Set("services", &jsonschema.Schema{Type: "object", AdditionalProperties: service})
	file.Properties.Set("x-sc-security", &jsonschema.Schema{Ref: "#/$defs/Security", Description: "sc's security configuration for every service of the file."})
	return file
}

// schemaFor maps the configuration's value types to schemas.
func schemaFor(t reflect.Type) *jsonschema.Schema {
	switch t {
	case reflect.TypeFor[Secret](), reflect.TypeFor[KeyRef]():
		return &jsonschema.Schema{Type: "string", Examples: []any{"${env:NAME}", "${file:PATH}"}}
	case reflect.TypeFor[Duration]():
		return &jsonschema.Schema{
			Type:      "string",
			Pattern:   `^([0-9]+d)?([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))*$`,
			MinLength: new(uint64(1)),
			Examples:  []any{"120h", "5d"},
		}
	case reflect.TypeFor[Date]():
		return &jsonschema.Schema{Type: "string", Format: "date", Pattern: `^[0-9]{4}-[0-9]{2}-[0-9]{2}$`}
	case reflect.TypeFor[Severity]():
		return enumSchema(severitiesDesc())
	case reflect.TypeFor[SBOMFormat]():
		return enumSchema(sbomFormats())
	case reflect.TypeFor[SBOMScope]():
		return enumSchema(sbomScopes())
	case reflect.TypeFor[Scanner]():
		return enumSchema(scanners())
	case reflect.TypeFor[SignatureFormat]():
		return enumSchema(signatureFormats())
	}
	return nil
}

func enumSchema[T ~string](values []T) *jsonschema.Schema {
	s := &jsonschema.Schema{Type: "string"}
	for _, v := range values {
		s.Enum = append(s.Enum, string(v))
	}
	return s
}

// goComments reads the doc comments of the exported types and fields in
// the Go files of fsys, keyed as the jsonschema Reflector's CommentMap
// expects: "pkgpath.Type" and "pkgpath.Type.Field".
func goComments(fsys fs.FS, pkgPath string) (map[string]string, error) {
	out := map[string]string{}
	fset := token.NewFileSet()
	files, err := fs.Glob(fsys, "*.go")
	if err != nil {
		return nil, err
	}
	var synopsis doc.Package
	for _, name := range files {
		src, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		f, err := parser.ParseFile(fset, name, src, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, spec := range gd.Specs {
				ts := spec.(*ast.TypeSpec)
				if !ts.Name.IsExported() {
					continue
				}
				text := ts.Doc.Text()
				if text == "" && len(gd.Specs) == 1 {
					text = gd.Doc.Text()
				}
				if text != "" {
					out[pkgPath+"."+ts.Name.Name] = synopsis.Synopsis(text)
				}
				st, ok := ts.Type.(*ast.StructType)
				if !ok {
					continue
				}
				for _, field := range st.Fields.List {
					text := field.Doc.Text()
					if text == "" {
						text = field.Comment.Text()
					}
					for _, n := range field.Names {
						if n.IsExported() && text != "" {
							out[pkgPath+"."+ts.Name.Name+"."+n.Name] = describeField(n.Name, field.Tag, text)
						}
					}
				}
			}
		}
	}
	return out, nil
}

// describeField turns a field comment into a schema description: on one
// line, and starting with the YAML key rather than the Go name ("failOn
// fails the scan…" rather than "FailOn fails the scan…").
func describeField(goName string, tag *ast.BasicLit, text string) string {
	text = strings.Join(strings.Fields(text), " ")
	if tag == nil {
		return text
	}
	key, _, _ := strings.Cut(reflect.StructTag(strings.Trim(tag.Value, "`")).Get("yaml"), ",")
	if rest, ok := strings.CutPrefix(text, goName+" "); ok && key != "" {
		return key + " " + rest
	}
	return text
}
