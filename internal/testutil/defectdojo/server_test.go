package defectdojo_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sc-project/sc/internal/testutil/defectdojo"
)

const token = "0123456789abcdef"

// sarif is a report of one finding, as DefectDojo's SARIF parser reads it.
const sarif = `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"sc","rules":[
 {"id":"CVE-1","properties":{"security-severity":"9.8"}}]}},
 "results":[{"ruleId":"CVE-1","level":"error","message":{"text":"CVE-1 in a@1"},
  "locations":[{"physicalLocation":{"artifactLocation":{"uri":"var/lib/dpkg/status"},"region":{"startLine":1}}}],
  "partialFingerprints":{"scFinding/v1":"abc","primaryLocationLineHash":"abc"}}]}]}`

func post(t *testing.T, s *defectdojo.Server, auth string, fields map[string]string, file string) (int, any) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	if file != "" {
		fw, _ := mw.CreateFormFile("file", file)
		_, _ = io.WriteString(fw, sarif)
	}
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/v2/reimport-scan/", &b)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func TestReimportValidation(t *testing.T) {
	s := defectdojo.New(t, token)
	s.AddEngagement(s.AddProduct("shop", "Web"), "CI")
	ok := "Token " + token
	base := func(extra map[string]string) map[string]string {
		m := map[string]string{"scan_type": "SARIF", "product_name": "shop", "engagement_name": "CI", "test_title": "img"}
		for k, v := range extra {
			if v == "" {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		return m
	}
	for _, tt := range []struct {
		name   string
		auth   string
		fields map[string]string
		file   string
		status int
		body   any
	}{
		{"no token", "", base(nil), "r.sarif", 403, map[string]any{"detail": "Authentication credentials were not provided."}},
		{"bearer", "Bearer " + token, base(nil), "r.sarif", 403, map[string]any{"detail": "Authentication credentials were not provided."}},
		{"wrong token", "Token nope", base(nil), "r.sarif", 403, map[string]any{"detail": "Invalid token."}},
		{"engagement name without product name", ok, base(map[string]string{"product_name": ""}), "r.sarif", 400,
			[]any{"product_name parameter missing"}},
		{"product name without engagement name", ok, base(map[string]string{"engagement_name": ""}), "r.sarif", 400,
			[]any{"engagement_name parameter missing"}},
		{"auto-create without names", ok, map[string]string{"scan_type": "SARIF", "auto_create_context": "true"}, "r.sarif", 400,
			[]any{"product_name parameter missing"}},
		{"unknown product", ok, base(map[string]string{"product_name": "shops"}), "r.sarif", 400,
			[]any{`Product "shops" does not exist`}},
		{"unknown product type", ok, base(map[string]string{"product_type_name": "Mobile"}), "r.sarif", 400,
			[]any{"The fetched product has a conflict with the supplied product type name: existing product type name - Web vs supplied product type name - Mobile"}},
		{"unknown engagement", ok, base(map[string]string{"engagement_name": "CD"}), "r.sarif", 400,
			[]any{`Engagement "CD" does not exist in Product "shop"`}},
		{"no test yet, no auto-create", ok, base(nil), "r.sarif", 400,
			[]any{`Test "img" with scan_type "SARIF" does not exist in Engagement "CI"`}},
		{"auto-create of a product without type", ok, base(map[string]string{"product_name": "new", "auto_create_context": "true"}), "r.sarif", 400,
			[]any{`Product "new" does not exist and no product_type_name provided to create the new product in`}},
		{"auto_create_context=false is true to the permission check", ok,
			base(map[string]string{"product_name": "new", "auto_create_context": "false"}), "r.sarif", 400,
			[]any{`Product "new" does not exist and no product_type_name provided to create the new product in`}},
		{"test ID not a number", ok, map[string]string{"scan_type": "SARIF", "test": "x"}, "r.sarif", 400, []any{"test must be an integer"}},
		{"unknown test ID", ok, map[string]string{"scan_type": "SARIF", "test": "999"}, "r.sarif", 400, []any{`Test "999" does not exist`}},
		{"no scan type", ok, base(map[string]string{"scan_type": "", "auto_create_context": "true"}), "r.sarif", 400,
			map[string]any{"scan_type": []any{"This field is required."}}},
		{"unknown scan type", ok, base(map[string]string{"scan_type": "Nessus", "auto_create_context": "true"}), "r.sarif", 400,
			map[string]any{"scan_type": []any{`"Nessus" is not a valid choice.`}}},
		{"no file", ok, base(map[string]string{"auto_create_context": "true"}), "", 400,
			map[string]any{"non_field_errors": []any{"Uploading a Report File is required for SARIF"}}},
		{"bad boolean", ok, base(map[string]string{"auto_create_context": "true", "close_old_findings": "maybe"}), "r.sarif", 400,
			map[string]any{"close_old_findings": []any{"Must be a valid boolean."}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, body := post(t, s, tt.auth, tt.fields, tt.file)
			if status != tt.status {
				t.Errorf("status %d, want %d (%v)", status, tt.status, body)
			}
			if diff := cmp.Diff(tt.body, body); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
	if len(s.Tests()) != 0 || len(s.Products()) != 1 {
		t.Error("a refused request created something")
	}
}

func TestReimportResponse(t *testing.T) {
	s := defectdojo.New(t, token)
	fields := map[string]string{"scan_type": "SARIF", "product_name": "shop", "product_type_name": "Web",
		"engagement_name": "CI", "test_title": "img", "auto_create_context": "true"}
	status, body := post(t, s, "Token "+token, fields, "r.sarif")
	if status != http.StatusCreated {
		t.Fatalf("status %d: %v", status, body)
	}
	m := body.(map[string]any)
	tests := s.Tests()
	if len(tests) != 1 || m["test_id"] != float64(tests[0].ID) || m["test"] != float64(tests[0].ID) {
		t.Errorf("test_id %v, tests %+v", m["test_id"], tests)
	}
	for _, k := range []string{"engagement_id", "product_id", "product_type_id"} {
		if _, ok := m[k].(float64); !ok {
			t.Errorf("no %s in %v", k, m)
		}
	}
	stats := m["statistics"].(map[string]any)
	if _, ok := stats["before"]; ok {
		t.Error("a new test has statistics before")
	}
	after := stats["after"].(map[string]any)
	if got := after["critical"].(map[string]any)["active"]; got != float64(1) {
		t.Errorf("after.critical.active = %v, want 1 (security-severity 9.8)", got)
	}
	if fs := s.Findings(tests[0].ID); len(fs) != 1 || fs[0].UniqueIDFromTool != "primaryLocationLineHash:abc|scFinding:abc" ||
		fs[0].Title != "CVE-1 in a@1" || fs[0].FilePath != "var/lib/dpkg/status" || fs[0].Line != 1 {
		t.Errorf("findings %+v", fs)
	}

	// the same report again: nothing changes, and the delta says so
	_, body = post(t, s, "Token "+token, fields, "r.sarif")
	delta := body.(map[string]any)["statistics"].(map[string]any)["delta"].(map[string]any)
	if got := delta["untouched"].(map[string]any)["total"].(map[string]any)["total"]; got != float64(1) {
		t.Errorf("delta %v, want 1 untouched", delta)
	}
	if len(s.Tests()) != 1 {
		t.Error("a reimport created another test")
	}
}

func TestGetObjects(t *testing.T) {
	s := defectdojo.New(t, token)
	pid := s.AddProduct("shop", "Web")
	eid := s.AddEngagement(pid, "CI")
	get := func(path string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
		req.Header.Set("Authorization", "Token "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	if st, m := get("/api/v2/engagements/" + itoa(eid) + "/"); st != 200 || m["name"] != "CI" || m["product"] != float64(pid) {
		t.Errorf("engagement: %d %v", st, m)
	}
	if st, m := get("/api/v2/products/999/"); st != 404 || m["detail"] != "No Product matches the given query." {
		t.Errorf("unknown product: %d %v", st, m)
	}
	if st, m := get("/api/v2/products/?name=SHO&limit=1"); st != 200 || m["count"] != float64(1) || len(m["results"].([]any)) != 1 {
		t.Errorf("product list: %d %v", st, m)
	}
	if st, m := get("/api/v2/engagements/?product=" + itoa(pid) + "&name=C"); st != 200 || m["count"] != float64(0) {
		t.Errorf("engagement names match exactly: %d %v", st, m)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
