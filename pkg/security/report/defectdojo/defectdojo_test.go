package defectdojo_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	fakedojo "github.com/sc-project/sc/internal/testutil/defectdojo"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/report"
	"github.com/sc-project/sc/pkg/security/report/defectdojo"
	"github.com/sc-project/sc/pkg/security/scan"
)

// apiKey stands for the secret a pipeline gives sc.
const apiKey = "c8572a5adf107a693aa6c72584da31f4d1f1dcff"

const image = "registry.example/shop/orders-api@sha256:749ba80b11e68a699101007845153a4d865489601a608fb5109e0d12fd0f832d"

func match(id string, sev scan.Severity, pkg, version, location string) scan.Match {
	m := scan.Match{
		ID: id, Severity: sev, FoundBy: []string{"grype"},
		Package: scan.Package{Name: pkg, Version: version, Type: "deb"},
		Fix:     scan.Fix{State: scan.FixStateFixed, Versions: []string{version + "+1"}},
	}
	if location != "" {
		m.Package.Locations = []string{location}
	}
	return m
}

// result is an image's scan with the given findings.
func result(img string, ms ...scan.Match) *scan.Result {
	return &scan.Result{
		SchemaVersion: scan.SchemaVersion, Image: img,
		Digest:    img[strings.Index(img, "@")+1:],
		ScannedAt: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC),
		Scanners:  []scan.ScannerInfo{{Name: "grype", Version: "v0.121.2"}},
		Matches:   ms, Ignored: []scan.IgnoredMatch{},
		Verdict: scan.Verdict{Status: scan.Fail, FailOn: scan.High},
	}
}

func findings() []scan.Match {
	return []scan.Match{
		match("CVE-2099-0001", scan.Critical, "libssl3", "3.0.11", "/var/lib/dpkg/status"),
		match("CVE-2099-0002", scan.High, "libcurl4", "7.88.1", "/var/lib/dpkg/status"),
		match("CVE-2099-0003", scan.Medium, "zlib1g", "1.2.13", ""),
		match("CVE-2099-0004", scan.Low, "tar", "1.34", ""),
		match("CVE-2099-0005", scan.Negligible, "libc6", "2.36", ""),
	}
}

func client(t *testing.T, s *fakedojo.Server, opts ...defectdojo.Option) *defectdojo.Client {
	t.Helper()
	opts = append([]defectdojo.Option{defectdojo.WithRetry(3, time.Millisecond)}, opts...)
	c, err := defectdojo.New(s.URL, apiKey, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestUpload(t *testing.T) {
	ctx := context.Background()
	s := fakedojo.New(t, apiKey)
	pid := s.AddProduct("shop", "Web")
	eid := s.AddEngagement(pid, "CI")
	other := result("registry.example/shop/cart@sha256:1111111111111111111111111111111111111111111111111111111111111111",
		match("CVE-2099-0009", scan.High, "openssl", "3.0.11", "/var/lib/dpkg/status"))

	res, err := defectdojo.Upload(ctx, client(t, s), defectdojo.Target{Product: "shop", Engagement: "CI"},
		[]*scan.Result{result(image, findings()...), other}, report.WithToolVersion("v1.2.3"))
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	tests := s.Tests()
	if len(res) != 2 || len(tests) != 2 {
		t.Fatalf("%d results, %d tests; want one test per image", len(res), len(tests))
	}
	if res[0].TestTitle != "registry.example/shop/orders-api" || res[0].TestID != tests[0].ID ||
		res[0].EngagementID != eid || res[0].ProductID != pid || res[0].ProductTypeID == 0 {
		t.Errorf("result %+v, want test %d in engagement %d of product %d", res[0], tests[0].ID, eid, pid)
	}
	if tests[0].Title != "registry.example/shop/orders-api" || tests[1].Title != "registry.example/shop/cart" || tests[0].ScanType != "SARIF" {
		t.Errorf("tests %+v", tests)
	}
	if got := res[0].Statistics.After.Total.Total; got != 5 {
		t.Errorf("statistics after: %d findings, want 5", got)
	}
	if res[0].Statistics.Before != nil {
		t.Error("statistics of a new test have a before")
	}

	// DefectDojo's severities follow sc's (through security-severity)
	var sevs []string
	for _, f := range s.Findings(tests[0].ID) {
		sevs = append(sevs, f.Severity)
		if !strings.HasPrefix(f.Title, f.VulnIDFromTool+" in ") || !strings.Contains(f.UniqueIDFromTool, "scFinding:") {
			t.Errorf("finding %+v: title or identity not from sc's SARIF", f)
		}
	}
	if diff := cmp.Diff([]string{"Critical", "High", "Medium", "Low", "Info"}, sevs); diff != "" {
		t.Errorf("severities in DefectDojo (-want +got):\n%s", diff)
	}

	// what was sent
	var posts []fakedojo.Request
	for _, r := range s.Requests() {
		if r.Authorization != "Token "+apiKey {
			t.Errorf("%s %s: Authorization %q", r.Method, r.Path, r.Authorization)
		}
		if r.Method == http.MethodPost {
			posts = append(posts, r)
		}
	}
	if len(posts) != 2 {
		t.Fatalf("%d reimports, want 2", len(posts))
	}
	want := map[string]string{
		"scan_type": "SARIF", "test_title": "registry.example/shop/orders-api", "product_name": "shop",
		"engagement_name": "CI", "auto_create_context": "true", "close_old_findings": "false",
	}
	if diff := cmp.Diff(want, posts[0].Fields); diff != "" {
		t.Errorf("form fields (-want +got):\n%s", diff)
	}
	if posts[0].FileName != "orders-api.sarif" || !bytes.Contains(posts[0].File, []byte(`"version": "2.1.0"`)) {
		t.Errorf("file %q: %.60s", posts[0].FileName, posts[0].File)
	}
}

func TestUploadAutoCreate(t *testing.T) {
	ctx := context.Background()
	s := fakedojo.New(t, apiKey)
	target := defectdojo.Target{Product: "shop", ProductType: "Web", Engagement: "CI", AutoCreate: true}
	for range 2 {
		if _, err := defectdojo.Upload(ctx, client(t, s), target, []*scan.Result{result(image, findings()...)}); err != nil {
			t.Fatalf("Upload: %v", err)
		}
	}
	if p, e, ts := s.Products(), s.Engagements(), s.Tests(); len(p) != 1 || p[0].Name != "shop" || len(e) != 1 || e[0].Name != "CI" || len(ts) != 1 {
		t.Errorf("products %+v, engagements %+v, tests %+v; want one of each, made by the first upload", p, e, ts)
	}

	t.Run("no product type", func(t *testing.T) {
		target := defectdojo.Target{Product: "payments", Engagement: "CI", AutoCreate: true}
		_, err := defectdojo.Upload(ctx, client(t, s), target, []*scan.Result{result(image)})
		if !errors.Is(err, defectdojo.ErrInvalidConfig) || !strings.Contains(err.Error(), "product type") {
			t.Errorf("Upload = %v, want ErrInvalidConfig asking for a product type", err)
		}
	})
	t.Run("new engagement in an existing product", func(t *testing.T) {
		target := defectdojo.Target{Product: "shop", Engagement: "release-2", AutoCreate: true}
		if _, err := defectdojo.Upload(ctx, client(t, s), target, []*scan.Result{result(image)}); err != nil {
			t.Fatal(err)
		}
		if e := s.Engagements(); len(e) != 2 || e[1].Name != "release-2" {
			t.Errorf("engagements %+v", e)
		}
	})
}

func TestUploadNotFound(t *testing.T) {
	ctx := context.Background()
	s := fakedojo.New(t, apiKey)
	pid := s.AddProduct("shop", "Web")
	eid := s.AddEngagement(pid, "CI")
	for _, tt := range []struct {
		name   string
		target defectdojo.Target
		want   error
		status int
	}{
		{"unknown product", defectdojo.Target{Product: "shops", Engagement: "CI"}, defectdojo.ErrNotFound, 0},
		{"unknown engagement", defectdojo.Target{Product: "shop", Engagement: "CD"}, defectdojo.ErrNotFound, 0},
		{"unknown product ID", defectdojo.Target{ProductID: 999, Engagement: "CI"}, defectdojo.ErrRejected, 404},
		{"unknown engagement ID", defectdojo.Target{EngagementID: 999}, defectdojo.ErrRejected, 404},
		{"engagement of another product", defectdojo.Target{Product: "other", EngagementID: eid}, defectdojo.ErrInvalidConfig, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := len(s.Requests())
			_, err := defectdojo.Upload(ctx, client(t, s), tt.target, []*scan.Result{result(image)})
			if !errors.Is(err, tt.want) || outcome.Code(err) != outcome.ExitInvalid {
				t.Fatalf("Upload = %v, want %v (exit 2)", err, tt.want)
			}
			var apiErr *defectdojo.APIError
			if tt.status != 0 && (!errors.As(err, &apiErr) || apiErr.Status != tt.status || !strings.Contains(err.Error(), "No ")) {
				t.Errorf("Upload = %v, want HTTP %d with DefectDojo's message", err, tt.status)
			}
			for _, r := range s.Requests()[before:] {
				if r.Method == http.MethodPost {
					t.Error("a report was sent to a target that does not exist")
				}
			}
		})
	}
	if len(s.Products()) != 1 || len(s.Engagements()) != 1 || len(s.Tests()) != 0 {
		t.Error("something was created without auto-create")
	}
}

func TestUploadByID(t *testing.T) {
	ctx := context.Background()
	s := fakedojo.New(t, apiKey)
	pid := s.AddProduct("shop", "Web")
	s.AddEngagement(pid, "CI")
	eid := s.AddEngagement(pid, "CI-2")
	for name, target := range map[string]defectdojo.Target{
		"engagement ID":             {EngagementID: eid},
		"product ID and engagement": {ProductID: pid, Engagement: "CI-2"},
		"product and engagement ID": {Product: "shop", EngagementID: eid},
	} {
		t.Run(name, func(t *testing.T) {
			res, err := defectdojo.Upload(ctx, client(t, s), target, []*scan.Result{result(image, findings()...)})
			if err != nil {
				t.Fatal(err)
			}
			if res[0].EngagementID != eid {
				t.Errorf("reimported into engagement %d, want %d", res[0].EngagementID, eid)
			}
		})
	}
}

func TestCloseOldFindings(t *testing.T) {
	ctx := context.Background()
	s := fakedojo.New(t, apiKey)
	s.AddEngagement(s.AddProduct("shop", "Web"), "CI")
	c := client(t, s)
	upload := func(closeOld bool, ms ...scan.Match) *defectdojo.ImportResult {
		t.Helper()
		res, err := defectdojo.Upload(ctx, c, defectdojo.Target{Product: "shop", Engagement: "CI", CloseOldFindings: closeOld},
			[]*scan.Result{result(image, ms...)})
		if err != nil {
			t.Fatal(err)
		}
		return res[0]
	}
	delta := func(r *defectdojo.ImportResult) [4]int {
		d := r.Statistics.Delta
		if d == nil {
			t.Fatal("no delta statistics")
		}
		return [4]int{d.Created.Total.Total, d.Closed.Total.Total, d.Reactivated.Total.Total, d.Untouched.Total.Total}
	}
	all := findings()
	first := upload(true, all...)

	// a new build fixed zlib1g and tar, and brought a new vulnerability
	fixed := append(append([]scan.Match{}, all[0], all[1], all[4]), match("CVE-2099-0010", scan.High, "gzip", "1.12", ""))
	r := upload(true, fixed...)
	if got := delta(r); got != [4]int{1, 2, 0, 3} {
		t.Errorf("created, closed, reactivated, untouched = %v; want 1 new, 2 closed, 3 left", got)
	}
	if r.TestID != first.TestID {
		t.Errorf("reimported into test %d, want %d", r.TestID, first.TestID)
	}
	mitigated := 0
	for _, f := range s.Findings(r.TestID) {
		if f.IsMitigated {
			mitigated++
			if f.Active || (!strings.Contains(f.Title, "zlib1g") && !strings.Contains(f.Title, "tar@")) {
				t.Errorf("closed the wrong finding: %+v", f)
			}
		}
	}
	if mitigated != 2 {
		t.Errorf("%d findings mitigated, want 2", mitigated)
	}

	// without close_old_findings, missing findings stay open
	if got := delta(upload(false, all[0])); got != [4]int{0, 0, 0, 1} {
		t.Errorf("without closing: %v, want only 1 untouched", got)
	}
	// a vulnerability that comes back is reactivated
	if got := delta(upload(true, all...)); got[2] != 2 {
		t.Errorf("reactivated %d, want the 2 closed ones back", got[2])
	}
}

func TestDenied(t *testing.T) {
	ctx := context.Background()
	s := fakedojo.New(t, "the-right-key")
	s.AddEngagement(s.AddProduct("shop", "Web"), "CI")
	var logs bytes.Buffer
	c := client(t, s, defectdojo.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	_, err := defectdojo.Upload(ctx, c, defectdojo.Target{Product: "shop", Engagement: "CI"}, []*scan.Result{result(image)})
	var apiErr *defectdojo.APIError
	if !errors.Is(err, defectdojo.ErrDenied) || !errors.As(err, &apiErr) || apiErr.Status != http.StatusForbidden ||
		outcome.Code(err) != outcome.ExitInvalid || !strings.Contains(err.Error(), "Invalid token.") {
		t.Fatalf("Upload = %v, want ErrDenied, HTTP 403 with DefectDojo's message, exit 2", err)
	}
	if strings.Contains(err.Error(), apiKey) || strings.Contains(logs.String(), apiKey) {
		t.Error("the API key is in the error or the log")
	}
	if n := len(s.Requests()); n != 1 {
		t.Errorf("%d requests, want 1: a refused key is not retried", n)
	}
}

func TestRetry(t *testing.T) {
	ctx := context.Background()
	target := defectdojo.Target{Product: "shop", Engagement: "CI"}

	t.Run("500 then success", func(t *testing.T) {
		s := fakedojo.New(t, apiKey)
		s.AddEngagement(s.AddProduct("shop", "Web"), "CI")
		s.Fail(http.StatusInternalServerError, http.StatusBadGateway)
		var logs bytes.Buffer
		c := client(t, s, defectdojo.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		if _, err := defectdojo.Upload(ctx, c, target, []*scan.Result{result(image, findings()...)}); err != nil {
			t.Fatalf("Upload: %v", err)
		}
		var statuses []int
		for _, r := range s.Requests() {
			statuses = append(statuses, r.Status)
		}
		if diff := cmp.Diff([]int{500, 502, 200, 200, 201}, statuses); diff != "" {
			t.Errorf("statuses (-want +got):\n%s", diff)
		}
		if strings.Count(logs.String(), "retrying") != 2 || strings.Contains(logs.String(), apiKey) {
			t.Errorf("log:\n%s", logs.String())
		}
	})
	t.Run("always 500", func(t *testing.T) {
		s := fakedojo.New(t, apiKey)
		s.Fail(500, 500, 500, 500)
		_, err := defectdojo.Upload(ctx, client(t, s), target, []*scan.Result{result(image)})
		var apiErr *defectdojo.APIError
		if !errors.Is(err, defectdojo.ErrUnavailable) || outcome.Code(err) != outcome.ExitOperational ||
			!errors.As(err, &apiErr) || apiErr.Status != 500 || !strings.Contains(err.Error(), "Internal server error, check logs for details") {
			t.Fatalf("Upload = %v, want ErrUnavailable with HTTP 500 and DefectDojo's message, exit 3", err)
		}
		if n := len(s.Requests()); n != 3 {
			t.Errorf("%d requests, want 3 attempts", n)
		}
	})
	t.Run("no retry on 400", func(t *testing.T) {
		s := fakedojo.New(t, apiKey)
		s.AddEngagement(s.AddProduct("shop", "Web"), "CI")
		c := client(t, s)
		_, err := c.Reimport(ctx, target, defectdojo.Report{ScanType: "SARIF", TestTitle: "x", FileName: "report.exe", Data: []byte("{}")})
		if !errors.Is(err, defectdojo.ErrRejected) || !strings.Contains(err.Error(), "HTTP 400") ||
			!strings.Contains(err.Error(), "file: Unsupported extension") {
			t.Fatalf("Reimport = %v, want ErrRejected with the field's message", err)
		}
		if n := len(s.Requests()); n != 3 {
			t.Errorf("%d requests, want 2 look-ups and 1 reimport", n)
		}
	})
	t.Run("canceled while waiting", func(t *testing.T) {
		s := fakedojo.New(t, apiKey)
		s.Fail(500, 500, 500, 500)
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		// cancel once the first answer is in, while the client waits an hour
		hc := &http.Client{Transport: cancelAfter{http.DefaultTransport, cancel}}
		c := client(t, s, defectdojo.WithHTTPClient(hc), defectdojo.WithRetry(4, time.Hour))
		_, err := defectdojo.Upload(ctx, c, target, []*scan.Result{result(image)})
		if !errors.Is(err, context.Canceled) || outcome.Code(err) != outcome.ExitOperational {
			t.Fatalf("Upload = %v, want context.Canceled, exit 3", err)
		}
		if n := len(s.Requests()); n != 1 {
			t.Errorf("%d requests after cancelling", n)
		}
	})
}

// An answer cut off mid-body, a refused connection and a Retry-After are
// handled by the retry policy like any transient failure.
func TestRetryNetwork(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) {
		case 1: // the answer is cut short
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(http.StatusOK)
			fmt.Fprint(w, `{"id":`)
			w.(http.Flusher).Flush()
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		case 2:
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
		default:
			fmt.Fprint(w, `{"id": 7, "name": "shop", "prod_type": 1}`)
		}
	}))
	defer srv.Close()
	var logs bytes.Buffer
	c, err := defectdojo.New(srv.URL, apiKey, defectdojo.WithRetry(3, time.Millisecond),
		defectdojo.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Product(context.Background(), 7)
	if err != nil || p.Name != "shop" {
		t.Fatalf("Product = %+v, %v", p, err)
	}
	if got := n.Load(); got != 3 {
		t.Errorf("%d requests, want 3", got)
	}
	if !strings.Contains(logs.String(), "unexpected EOF") || !strings.Contains(logs.String(), "429") {
		t.Errorf("log does not name both failures:\n%s", logs.String())
	}

	srv.Close() // now refused
	_, err = c.Product(context.Background(), 7)
	if !errors.Is(err, defectdojo.ErrUnavailable) || !strings.Contains(err.Error(), "connection refused (after 3 attempts)") {
		t.Errorf("Product against a closed server = %v, want ErrUnavailable after 3 attempts", err)
	}
}

type cancelAfter struct {
	rt     http.RoundTripper
	cancel func()
}

func (c cancelAfter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.rt.RoundTrip(r)
	c.cancel()
	return resp, err
}

// TestKeyNeverShown runs against a server that echoes the Authorization
// header in its error bodies, as a misconfigured proxy might: the key
// must still not reach an error or a log line.
func TestKeyNeverShown(t *testing.T) {
	for _, status := range []int{http.StatusBadRequest, http.StatusForbidden, http.StatusInternalServerError} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(status)
				fmt.Fprintf(w, `{"detail": "bad header %s"}`, r.Header.Get("Authorization"))
			}))
			defer srv.Close()
			var logs bytes.Buffer
			c, err := defectdojo.New(srv.URL, apiKey, defectdojo.WithRetry(2, time.Millisecond),
				defectdojo.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
			if err != nil {
				t.Fatal(err)
			}
			_, err = defectdojo.Upload(context.Background(), c, defectdojo.Target{Product: "shop", Engagement: "CI"}, []*scan.Result{result(image)})
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), apiKey) || strings.Contains(logs.String(), apiKey) {
				t.Errorf("the key leaked:\nerror: %v\nlog: %s", err, logs.String())
			}
			if !strings.Contains(err.Error(), "bad header Token [REDACTED]") {
				t.Errorf("error %v: want the server's message with the key cut out", err)
			}
		})
	}
}

func TestNew(t *testing.T) {
	for _, tt := range []struct {
		name string
		url  string
		key  string
		opts []defectdojo.Option
		ok   bool
	}{
		{"https", "https://dojo.example", apiKey, nil, true},
		{"https with prefix", "https://tools.example/defectdojo/", apiKey, nil, true},
		{"http on loopback", "http://127.0.0.1:8080", apiKey, nil, true},
		{"http on localhost", "http://localhost:8080", apiKey, nil, true},
		{"http elsewhere", "http://dojo.example", apiKey, nil, false},
		{"http elsewhere, allowed", "http://dojo.example", apiKey, []defectdojo.Option{defectdojo.WithInsecureHTTP()}, true},
		{"no key", "https://dojo.example", " ", nil, false},
		{"no scheme", "dojo.example", apiKey, nil, false},
		{"ftp", "ftp://dojo.example", apiKey, nil, false},
		{"credentials in the URL", "https://admin:secret@dojo.example", apiKey, nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := defectdojo.New(tt.url, tt.key, tt.opts...)
			if (err == nil) != tt.ok {
				t.Fatalf("New = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && (!errors.Is(err, defectdojo.ErrInvalidConfig) || strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), apiKey)) {
				t.Errorf("New = %v, want ErrInvalidConfig without secrets", err)
			}
		})
	}
}

func TestTargetValidate(t *testing.T) {
	for _, tt := range []struct {
		name string
		t    defectdojo.Target
		ok   bool
	}{
		{"names", defectdojo.Target{Product: "p", Engagement: "e"}, true},
		{"IDs", defectdojo.Target{ProductID: 1, EngagementID: 2}, true},
		{"engagement ID alone", defectdojo.Target{EngagementID: 2}, true},
		{"auto-create", defectdojo.Target{Product: "p", ProductType: "t", Engagement: "e", AutoCreate: true}, true},
		{"minimum severity", defectdojo.Target{Product: "p", Engagement: "e", MinimumSeverity: "High"}, true},
		{"no product", defectdojo.Target{Engagement: "e"}, false},
		{"no engagement", defectdojo.Target{Product: "p"}, false},
		{"product twice", defectdojo.Target{Product: "p", ProductID: 1, Engagement: "e"}, false},
		{"engagement twice", defectdojo.Target{Product: "p", Engagement: "e", EngagementID: 2}, false},
		{"auto-create by engagement ID", defectdojo.Target{EngagementID: 2, AutoCreate: true}, false},
		{"bad minimum severity", defectdojo.Target{Product: "p", Engagement: "e", MinimumSeverity: "high"}, false},
		{"negative ID", defectdojo.Target{ProductID: -1, Engagement: "e"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.t
			err := tt.t.Validate()
			if (err == nil) != tt.ok {
				t.Errorf("Validate = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && outcome.Code(err) != outcome.ExitInvalid {
				t.Errorf("Validate = %v, want exit 2", err)
			}
			if diff := cmp.Diff(before, tt.t); diff != "" {
				t.Errorf("Validate changed the target:\n%s", diff)
			}
		})
	}
}

func TestUploadOptions(t *testing.T) {
	ctx := context.Background()
	s := fakedojo.New(t, apiKey)
	s.AddEngagement(s.AddProduct("shop", "Web"), "CI")
	yes, no := true, false
	target := defectdojo.Target{Product: "shop", Engagement: "CI", MinimumSeverity: "High", Active: &no, Verified: &yes}
	res, err := defectdojo.Upload(ctx, client(t, s), target, []*scan.Result{result(image, findings()...)})
	if err != nil {
		t.Fatal(err)
	}
	fs := s.Findings(res[0].TestID)
	if len(fs) != 2 {
		t.Fatalf("%d findings, want the critical and the high one", len(fs))
	}
	for _, f := range fs {
		if f.Active || !f.Verified {
			t.Errorf("finding %+v: want inactive and verified", f)
		}
	}
	if _, err := defectdojo.Upload(ctx, client(t, s), target, nil); !errors.Is(err, report.ErrNoResults) {
		t.Errorf("Upload of nothing = %v", err)
	}
}

// Findings the policy set aside are suppressed results in sc's SARIF; the
// upload leaves them out, so that DefectDojo does not open them.
func TestUploadLeavesSetAsideOut(t *testing.T) {
	ctx := context.Background()
	s := fakedojo.New(t, apiKey)
	s.AddEngagement(s.AddProduct("shop", "Web"), "CI")
	r := result(image, findings()[:2]...)
	r.Ignored = []scan.IgnoredMatch{{
		Match:        match("CVE-2099-0008", scan.High, "lodash", "4.17.20", "/app/package-lock.json"),
		SuppressedBy: scan.Suppression{Kind: scan.SuppressedByRule, Reason: "not reachable"},
	}}
	if _, err := defectdojo.Upload(ctx, client(t, s), defectdojo.Target{Product: "shop", Engagement: "CI"}, []*scan.Result{r}); err != nil {
		t.Fatalf("Upload: %v", err)
	}
	var ids []string
	for _, f := range s.Findings(s.Tests()[0].ID) {
		ids = append(ids, f.VulnIDFromTool)
	}
	if diff := cmp.Diff([]string{"CVE-2099-0001", "CVE-2099-0002"}, ids); diff != "" {
		t.Errorf("findings in DefectDojo (-want +got):\n%s", diff)
	}
}
