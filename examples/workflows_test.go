// Package examples_test checks the CI examples, the Pulumi program the
// README shows (examples/pulumi) and the GitHub Action at the root of the
// repository: the GitHub workflow with actionlint (which also
// reads action.yml for the inputs the workflow gives it), the action's
// metadata and the GitLab pipeline by their structure. The SchemaStore
// JSON schemas of both cannot be downloaded here; actionlint carries
// GitHub's workflow syntax and the popular actions' inputs itself.
package examples_test

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/rhysd/actionlint"

	"github.com/sc-project/sc/pkg/security/shard"
)

// read returns a file of the repository.
func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", path))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// action is what the test reads of action.yml.
type action struct {
	Name        string            `yaml:"name"`
	Description string            `yaml:"description"`
	Author      string            `yaml:"author"`
	Branding    map[string]string `yaml:"branding"`
	Inputs      map[string]struct {
		Description string  `yaml:"description"`
		Required    bool    `yaml:"required"`
		Default     *string `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Description string `yaml:"description"`
		Value       string `yaml:"value"`
	} `yaml:"outputs"`
	Runs struct {
		Using string `yaml:"using"`
		Steps []struct {
			Name  string            `yaml:"name"`
			ID    string            `yaml:"id"`
			Uses  string            `yaml:"uses"`
			With  map[string]string `yaml:"with"`
			Run   string            `yaml:"run"`
			Shell string            `yaml:"shell"`
			Env   map[string]string `yaml:"env"`
		} `yaml:"steps"`
	} `yaml:"runs"`
}

func TestActionMetadata(t *testing.T) {
	raw := read(t, "action.yml")
	var a action
	if err := yaml.UnmarshalWithOptions(raw, &a, yaml.Strict()); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	if a.Name == "" || a.Description == "" || a.Runs.Using != "composite" || len(a.Runs.Steps) == 0 {
		t.Fatalf("action.yml needs a name, a description and composite steps: %+v", a)
	}
	for _, in := range []string{"version", "command", "config", "stack", "shard", "output"} {
		if _, ok := a.Inputs[in]; !ok {
			t.Errorf("action.yml has no input %q", in)
		}
	}
	for name, in := range a.Inputs {
		if in.Description == "" || in.Default == nil || in.Required {
			t.Errorf("input %s needs a description and a default (every input is optional)", name)
		}
	}
	ids := map[string]bool{}
	for i, s := range a.Runs.Steps {
		if (s.Run == "") == (s.Uses == "") {
			t.Errorf("step %d: a composite step has either run or uses", i+1)
		}
		if s.Run != "" && s.Shell == "" {
			t.Errorf("step %d: a composite run step needs a shell", i+1)
		}
		// inputs reach scripts through the environment only: an
		// expression in a script is a script injection
		if strings.Contains(s.Run, "${{") {
			t.Errorf("step %d: an expression in a script; pass it through env", i+1)
		}
		ids[s.ID] = true
	}
	// every input the file uses is declared, every output a step's
	for _, m := range regexp.MustCompile(`inputs\.([a-z-]+)`).FindAllStringSubmatch(string(raw), -1) {
		if _, ok := a.Inputs[m[1]]; !ok {
			t.Errorf("action.yml uses the undeclared input %s", m[1])
		}
	}
	for name, o := range a.Outputs {
		m := regexp.MustCompile(`^\$\{\{ steps\.([a-z-]+)\.outputs\.[a-z-]+ \}\}$`).FindStringSubmatch(o.Value)
		if m == nil || !ids[m[1]] {
			t.Errorf("output %s = %q is not an output of a step", name, o.Value)
		}
	}
}

// The example workflow passes actionlint, with the action taken from this
// checkout: what it gives the action are the action's inputs.
func TestGitHubWorkflow(t *testing.T) {
	raw := read(t, "examples/github-actions/release.yml")
	if !strings.Contains(string(raw), "uses: sc-project/sc@v1") {
		t.Fatal("the workflow does not use the action as sc-project/sc@v1")
	}
	local := strings.ReplaceAll(string(raw), "uses: sc-project/sc@v1", "uses: ./")
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	proj, err := actionlint.NewProject(root)
	if err != nil {
		t.Fatal(err)
	}
	l, err := actionlint.NewLinter(io.Discard, &actionlint.LinterOptions{WorkingDir: root})
	if err != nil {
		t.Fatal(err)
	}
	errs, err := l.Lint(filepath.Join(root, ".github", "workflows", "release.yml"), []byte(local), proj)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range errs {
		t.Errorf("actionlint: %d:%d: %s [%s]", e.Line, e.Column, e.Message, e.Kind)
	}

	// and a workflow that gives the action an input it does not have fails
	// the same check: the test can tell
	bad := strings.Replace(local, "shard: ${{ matrix.shard }}", "shrad: ${{ matrix.shard }}", 1)
	errs, err = l.Lint(filepath.Join(root, ".github", "workflows", "release.yml"), []byte(bad), proj)
	if err != nil || len(errs) == 0 {
		t.Errorf("actionlint accepted an input the action does not have: %v", err)
	}

	var wf struct {
		Jobs map[string]struct {
			Needs    any `yaml:"needs"`
			Strategy struct {
				Matrix string `yaml:"matrix"`
			} `yaml:"strategy"`
			Steps []struct {
				Uses string            `yaml:"uses"`
				With map[string]string `yaml:"with"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(raw, &wf); err != nil {
		t.Fatal(err)
	}
	if m := wf.Jobs["release"].Strategy.Matrix; m != "${{ fromJSON(needs.plan.outputs.matrix) }}" {
		t.Errorf("the release job's matrix is %q, not the plan's", m)
	}
	// the key the plan's matrix has is the one the release job reads
	var b strings.Builder
	p, _ := shard.Assign([]shard.Cost{{Service: "a", Bytes: 1}}, 1)
	if err := p.Write(&b, shard.FormatGitHub); err != nil {
		t.Fatal(err)
	}
	var matrix struct {
		Include []map[string]string `json:"include"`
	}
	if err := json.Unmarshal([]byte(b.String()), &matrix); err != nil || len(matrix.Include) != 1 {
		t.Fatalf("plan matrix %q: %v", b.String(), err)
	}
	for key := range matrix.Include[0] {
		if !strings.Contains(string(raw), "${{ matrix."+key+" }}") {
			t.Errorf("the workflow does not read matrix.%s", key)
		}
	}
	var uploads bool
	for _, s := range wf.Jobs["merge"].Steps {
		uploads = uploads || strings.HasPrefix(s.Uses, "github/codeql-action/upload-sarif@")
	}
	if !uploads {
		t.Error("the merge job does not upload SARIF to code scanning")
	}
}

func TestGitLabPipeline(t *testing.T) {
	raw := read(t, "examples/gitlab-ci/.gitlab-ci.yml")
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf(".gitlab-ci.yml: %v", err)
	}
	type job struct {
		Extends  string         `yaml:"extends"`
		Stage    string         `yaml:"stage"`
		Parallel int            `yaml:"parallel"`
		When     string         `yaml:"when"`
		IDTokens map[string]any `yaml:"id_tokens"`
		Script   []string       `yaml:"script"`
		Needs    []struct {
			Job       string `yaml:"job"`
			Artifacts bool   `yaml:"artifacts"`
		} `yaml:"needs"`
		Artifacts struct {
			When     string   `yaml:"when"`
			Paths    []string `yaml:"paths"`
			ExpireIn string   `yaml:"expire_in"`
		} `yaml:"artifacts"`
	}
	var p struct {
		Stages []string `yaml:"stages"`
	}
	if err := yaml.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	jobs := map[string]job{}
	for name, v := range doc {
		if name == "stages" || name == "variables" || strings.HasPrefix(name, ".") {
			continue
		}
		b, err := yaml.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var j job
		if err := yaml.UnmarshalWithOptions(b, &j, yaml.Strict()); err != nil {
			t.Fatalf("job %s: %v", name, err)
		}
		jobs[name] = j
	}
	if len(jobs) != 2 {
		t.Errorf("jobs %v, want release and merge", slices.Collect(maps.Keys(jobs)))
	}
	for name, j := range jobs {
		if !slices.Contains(p.Stages, j.Stage) {
			t.Errorf("job %s: stage %q is not in stages %v", name, j.Stage, p.Stages)
		}
		if j.Extends != "" {
			if _, ok := doc[j.Extends]; !ok {
				t.Errorf("job %s extends %s, which is not defined", name, j.Extends)
			}
		}
	}
	rel, merge := jobs["release"], jobs["merge"]
	script := strings.Join(rel.Script, "\n")
	if rel.Parallel < 2 || !strings.Contains(script, `--shard "${CI_NODE_INDEX}/${CI_NODE_TOTAL}"`) || !strings.Contains(script, "--output json") {
		t.Errorf("the release job is not a parallel job running its shard: parallel %d, script %q", rel.Parallel, script)
	}
	if rel.Artifacts.When != "always" || !slices.Contains(rel.Artifacts.Paths, "part-*.json") {
		t.Errorf("the release job does not keep its part whatever the outcome: %+v", rel.Artifacts)
	}
	if merge.When != "always" || len(merge.Needs) != 1 || merge.Needs[0].Job != "release" || !merge.Needs[0].Artifacts ||
		!strings.Contains(strings.Join(merge.Script, "\n"), "sc release merge part-*.json") {
		t.Errorf("the merge job does not merge every part: %+v", merge)
	}
}

// The action's script, run by bash with a stand-in sc that records its
// arguments: each command gets the flags of its inputs, and the outputs
// are set as the workflow reads them.
func TestActionScript(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	var a action
	if err := yaml.Unmarshal(read(t, "action.yml"), &a); err != nil {
		t.Fatal(err)
	}
	var script string
	for _, s := range a.Runs.Steps {
		if s.ID == "run" {
			script = s.Run
		}
	}
	if script == "" {
		t.Fatal("action.yml has no step run")
	}
	plan, err := shard.Assign([]shard.Cost{{Service: "api", Bytes: 5}, {Service: "web", Bytes: 4}, {Service: "db", Bytes: 3}, {Service: "queue", Bytes: 2}, {Service: "cron", Bytes: 1}}, 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		inputs  map[string]string
		args    string
		outputs []string
	}{
		{"plan", map[string]string{"command": "release plan", "config": "sc.yaml", "stack": "prod", "shards": "3", "format": "github"},
			"release plan --config sc.yaml --stack prod --shards 3 --format github", []string{`matrix={"include":[{"shard":"1/3"},{"shard":"2/3"},{"shard":"3/3"}]}`, "exit-code=0"}},
		// the other formats are not a GitHub matrix: no matrix output,
		// the plan whole in the output file
		{"plan for gitlab", map[string]string{"command": "release plan", "config": "sc.yaml", "shards": "3", "format": "gitlab", "output-file": "plan.yml"},
			"release plan --config sc.yaml --shards 3 --format gitlab", []string{"output-file=plan.yml", "exit-code=0"}},
		{"plan as json", map[string]string{"command": "release plan", "config": "sc.yaml", "shards": "3", "format": "json", "output-file": "plan.json"},
			"release plan --config sc.yaml --shards 3 --format json", []string{"output-file=plan.json", "exit-code=0"}},
		{"create a shard", map[string]string{"command": "release create", "config": "sc.yaml", "shard": "2/3", "output": "json", "output-file": "part-1.json", "args": "--jobs 8"},
			"release create --config sc.yaml --shard 2/3 --output json --jobs 8", []string{"output-file=part-1.json", "exit-code=0"}},
		{"merge", map[string]string{"command": "release merge", "parts": "parts/*.json", "output": "table", "args": "--sarif sc.sarif"},
			"release merge --output table parts/a.json parts/b.json --sarif sc.sarif", []string{"exit-code=0"}},
		{"a failed check", map[string]string{"command": "release create", "config": "sc.yaml", "output": "table", "args": "--fail"},
			"release create --config sc.yaml --output table --fail", []string{"exit-code=1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			bin := filepath.Join(dir, "bin")
			if err := os.MkdirAll(filepath.Join(dir, "parts"), 0o755); err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{"parts/a.json", "parts/b.json"} {
				if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			// a stand-in sc whose plan prints what sc release plan prints:
			// the plan of 5 services in 3 shards, written by its printer
			for _, format := range shard.Formats() {
				var b bytes.Buffer
				if err := plan.Write(&b, format); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "plan-"+format), b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			fake := "#!/bin/sh\necho \"$@\" > \"$ARGS_FILE\"\ncase \"$*\" in *--fail*) exit 1;; *plan*) for f; do format=$f; done; cat \"plan-$format\";; esac\n"
			if err := os.MkdirAll(bin, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(bin, "sc"), []byte(fake), 0o755); err != nil {
				t.Fatal(err)
			}
			outputs := filepath.Join(dir, "outputs")
			cmd := exec.Command(bash, "-e", "-c", script)
			cmd.Dir = dir
			cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "GITHUB_OUTPUT=" + outputs, "RUNNER_TEMP=" + dir, "GITHUB_JOB=test",
				"ARGS_FILE=" + filepath.Join(dir, "args")}
			// the step's environment, the inputs' defaults under the given ones
			for _, s := range a.Runs.Steps {
				if s.ID != "run" {
					continue
				}
				for k, v := range s.Env {
					m := regexp.MustCompile(`^\$\{\{ inputs\.([a-z-]+) \}\}$`).FindStringSubmatch(v)
					if m == nil {
						t.Fatalf("env %s = %q is not an input", k, v)
					}
					val, ok := tc.inputs[m[1]]
					if !ok {
						val = *a.Inputs[m[1]].Default
					}
					cmd.Env = append(cmd.Env, k+"="+val)
				}
			}
			out, err := cmd.CombinedOutput()
			want := 0
			if strings.Contains(tc.args, "--fail") {
				want = 1
			}
			if code := cmd.ProcessState.ExitCode(); code != want {
				t.Fatalf("exit %d (%v), want %d\n%s", code, err, want, out)
			}
			args, err := os.ReadFile(filepath.Join(dir, "args"))
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSpace(string(args)); got != tc.args {
				t.Errorf("sc %s\nwant sc %s", got, tc.args)
			}
			got, _ := os.ReadFile(outputs)
			lines := strings.Split(strings.TrimSpace(string(got)), "\n")
			for _, o := range tc.outputs {
				if !slices.Contains(lines, o) {
					t.Errorf("outputs %q lack %q", got, o)
				}
			}
			// every line is an output the action declares: nothing squashed
			for _, l := range lines {
				k, _, _ := strings.Cut(l, "=")
				if _, ok := a.Outputs[k]; !ok {
					t.Errorf("output line %q is no output of the action", l)
				}
			}
			if f := tc.inputs["format"]; f != "" {
				printed, err := os.ReadFile(filepath.Join(dir, "plan-"+f))
				if err != nil {
					t.Fatal(err)
				}
				file := tc.inputs["output-file"]
				if file == "" {
					for _, l := range lines {
						if v, ok := strings.CutPrefix(l, "output-file="); ok {
							file = v
						}
					}
				}
				if !filepath.IsAbs(file) {
					file = filepath.Join(dir, file)
				}
				if kept, err := os.ReadFile(file); err != nil || !bytes.Equal(kept, printed) {
					t.Errorf("output file %s = %q (%v), want the plan as printed:\n%s", file, kept, err, printed)
				}
				if hasMatrix := slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, "matrix=") }); hasMatrix != (f == shard.FormatGitHub) {
					t.Errorf("format %s: a matrix output %v, want it only for github", f, hasMatrix)
				}
			}
		})
	}
}
