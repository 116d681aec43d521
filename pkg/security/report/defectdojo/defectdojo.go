// Package defectdojo sends scan results to DefectDojo through its REST API
// v2, as SARIF reimports: each image is one test, titled with the image's
// repository, in one engagement of one product. Reimporting into the same
// test keeps a finding's history across builds: DefectDojo leaves known
// findings alone, adds new ones, and (with close_old_findings) closes the
// ones that are gone.
//
// Why SARIF and not DefectDojo's "Anchore Grype" parser: sc's results merge
// grype's and Trivy's findings and apply VEX and ignore rules; grype's JSON
// would be a second format to fake, and would lose Trivy's findings and
// the merge. DefectDojo's SARIF parser reads report.WriteSARIF's output
// whole: the title from the message (vulnerability, package@version,
// severity, fix), the severity from the rule's security-severity (which
// report keeps in step with sc's severity), the CVE from the rule ID, the
// file from the location, and the identity used by reimport from the
// partial fingerprints, which stay the same across builds of the image.
// Findings the policy set aside are left out of the SARIF
// (report.WithoutSuppressed), so DefectDojo does not open them.
//
// The product and engagement are named, or given by ID. Before the first
// upload the client looks them up (GET /api/v2/products/,
// /api/v2/engagements/, by ID or by name) and sends their names, because
// reimport-scan addresses them by name; engagement names are not unique in
// a product, and DefectDojo, like the client, takes the latest engagement
// of that name. Without auto-create both must exist (ErrNotFound). The test
// of an image is created on its first upload either way (reimport-scan with
// auto_create_context, which then creates nothing else); with auto-create,
// DefectDojo also creates a missing engagement, and a missing product in
// the named product type (DefectDojo needs one to create a product).
//
// Requests are retried by sc's HTTP retry policy (pkg/security/httpretry):
// on 408, 429, 500, 502, 503 and 504 answers (honouring Retry-After), on
// refused, reset or dropped connections, answers cut short and timeouts,
// with exponential backoff, as long as the context lasts; a reimport is
// idempotent, so a retry after a lost answer changes nothing. Errors carry the HTTP status
// and DefectDojo's message, never the API key: the key is sent only in the
// Authorization header, never logged, and cut out of any message the
// server echoes.
//
// The package does not create DefectDojo objects other than through
// auto-create, does not read findings back, and does not talk to GitHub.
package defectdojo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/httpretry"
	"github.com/sc-project/sc/pkg/security/report"
	"github.com/sc-project/sc/pkg/security/scan"
)

// ScanTypeSARIF is DefectDojo's scan type for SARIF reports.
const ScanTypeSARIF = "SARIF"

// Defaults of the options.
const (
	// DefaultAttempts is how many times a request is tried.
	DefaultAttempts = 4
	// DefaultBackoff is the wait before the first retry; it doubles each
	// time (2s, 4s, 8s), each wait drawn between half and all of that.
	DefaultBackoff = 2 * time.Second
	// DefaultTimeout bounds one request: a reimport of a large report
	// takes DefectDojo a while.
	DefaultTimeout = 5 * time.Minute
)

// maxBody is how much of an answer is read.
const maxBody = 4 << 20

// Sentinels for the outcomes callers branch on. APIError wraps one of the
// first three.
var (
	// ErrDenied: DefectDojo refused the API key, or the key's user may not
	// do this (401, 403). Invalid configuration (exit code 2).
	ErrDenied = outcome.Invalid("DefectDojo denied the request (check the API key and its user's permissions)")
	// ErrRejected: DefectDojo rejected the request (400, 404 and other
	// 4xx): an unknown product or engagement, missing names. Invalid
	// configuration.
	ErrRejected = outcome.Invalid("DefectDojo rejected the request")
	// ErrUnavailable: DefectDojo could not be reached or kept failing
	// (5xx, 429, network errors) after the retries. Operational (exit
	// code 3).
	ErrUnavailable = outcome.Operational("DefectDojo is unavailable")
	// ErrInvalidConfig: the client or target is incomplete or
	// contradictory. Invalid configuration.
	ErrInvalidConfig = outcome.Invalid("invalid DefectDojo configuration")
	// ErrNotFound: the product or engagement does not exist in DefectDojo,
	// and auto-create is off. Invalid configuration.
	ErrNotFound = outcome.Invalid("not found in DefectDojo")
)

// APIError is an answer of DefectDojo that is not a success.
type APIError struct {
	// Method and Path are the request's ("POST", "/api/v2/reimport-scan/").
	Method, Path string
	// Status is the HTTP status code.
	Status int
	// Message is DefectDojo's message, from its JSON body ("detail", a
	// list of messages, or messages by field), else the start of the
	// body. The API key is cut out of it.
	Message string
	kind    error
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("%s: %s %s: HTTP %d %s", e.kind, e.Method, e.Path, e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Unwrap returns ErrDenied, ErrRejected or ErrUnavailable.
func (e *APIError) Unwrap() error { return e.kind }

// Client talks to one DefectDojo. It is safe for concurrent use.
type Client struct {
	base      *url.URL
	key       string
	http      *http.Client
	logger    *slog.Logger
	attempts  int
	backoff   time.Duration
	userAgent string
	insecure  bool
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client. Default: one with DefaultTimeout
// per request and Go's default transport (proxy from the environment,
// system certificate authorities).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithLogger sets the logger for retries. Default: a logger that discards.
func WithLogger(l *slog.Logger) Option { return func(c *Client) { c.logger = l } }

// WithRetry sets how many times a request is tried (at least 1) and the
// wait before the first retry, doubled each time up to 10s, with jitter
// (see httpretry.Policy). Default: DefaultAttempts, DefaultBackoff.
func WithRetry(attempts int, backoff time.Duration) Option {
	return func(c *Client) { c.attempts, c.backoff = attempts, backoff }
}

// WithUserAgent sets the User-Agent header. Default: "sc".
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// WithInsecureHTTP allows a plain-HTTP URL to a host outside the loopback
// interface, which sends the API key in clear text. Default: refused.
func WithInsecureHTTP() Option { return func(c *Client) { c.insecure = true } }

// New returns a client for the DefectDojo at baseURL ("https://dojo.example",
// with a path prefix if DefectDojo is served under one), authenticating
// with apiKey ("Authorization: Token <apiKey>").
//
// Errors (ErrInvalidConfig): no API key; a URL that is not http(s); plain
// HTTP to a host outside the loopback interface without WithInsecureHTTP.
func New(baseURL, apiKey string, opts ...Option) (*Client, error) {
	c := &Client{
		key:       strings.TrimSpace(apiKey),
		attempts:  DefaultAttempts,
		backoff:   DefaultBackoff,
		userAgent: "sc",
	}
	for _, o := range opts {
		o(c)
	}
	if c.key == "" {
		return nil, fmt.Errorf("%w: no API key", ErrInvalidConfig)
	}
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("%w: URL %q: want http(s)://host[/prefix]", ErrInvalidConfig, baseURL)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%w: URL %s: no credentials, query or fragment, please", ErrInvalidConfig, u.Redacted())
	}
	if u.Scheme == "http" && !c.insecure && !loopback(u.Hostname()) {
		return nil, fmt.Errorf("%w: plain HTTP to %s would send the API key in clear text; use https", ErrInvalidConfig, u.Host)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/"
	c.base = u
	if c.http == nil {
		c.http = &http.Client{Timeout: DefaultTimeout}
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	if c.attempts < 1 {
		c.attempts = 1
	}
	return c, nil
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Target says where findings go in DefectDojo.
type Target struct {
	// Product names the product; ProductID gives it by ID instead. One of
	// them is needed unless EngagementID is given.
	Product   string
	ProductID int
	// ProductType is the product type a new product is created in, with
	// AutoCreate; DefectDojo needs one to create a product.
	ProductType string
	// Engagement names the engagement; EngagementID gives it by ID
	// instead. One of them is needed.
	Engagement   string
	EngagementID int
	// AutoCreate lets DefectDojo create a missing product (in ProductType)
	// and engagement. It needs the engagement by name. The image's test is
	// created as needed either way.
	AutoCreate bool
	// CloseOldFindings closes the findings of the test that the new report
	// does not have (close_old_findings).
	CloseOldFindings bool
	// MinimumSeverity drops findings below it: Info, Low, Medium, High or
	// Critical. Default ("") DefectDojo's: Info.
	MinimumSeverity string
	// Active and Verified, when set, force the findings' flags. Default:
	// DefectDojo's (active, not verified).
	Active, Verified *bool
}

// Validate checks the target without changing it.
func (t *Target) Validate() error {
	switch {
	case t.Product != "" && t.ProductID != 0:
		return fmt.Errorf("%w: the product is given both by name and by ID", ErrInvalidConfig)
	case t.Engagement != "" && t.EngagementID != 0:
		return fmt.Errorf("%w: the engagement is given both by name and by ID", ErrInvalidConfig)
	case t.Engagement == "" && t.EngagementID == 0:
		return fmt.Errorf("%w: no engagement", ErrInvalidConfig)
	case t.Product == "" && t.ProductID == 0 && t.EngagementID == 0:
		return fmt.Errorf("%w: no product", ErrInvalidConfig)
	case t.ProductID < 0 || t.EngagementID < 0:
		return fmt.Errorf("%w: negative ID", ErrInvalidConfig)
	case t.AutoCreate && t.Engagement == "":
		return fmt.Errorf("%w: auto-create needs the engagement by name", ErrInvalidConfig)
	}
	switch t.MinimumSeverity {
	case "", "Info", "Low", "Medium", "High", "Critical":
	default:
		return fmt.Errorf("%w: minimum severity %q: want Info, Low, Medium, High or Critical", ErrInvalidConfig, t.MinimumSeverity)
	}
	return nil
}

// resolved is a target by names, as reimport-scan takes it.
type resolved struct {
	product, productType, engagement string
}

// maxPages bounds the pages of a list that are read.
const maxPages = 20

// resolve finds the product and engagement of t and returns their names.
// Without AutoCreate both must exist; with it, what is missing is left to
// DefectDojo to create (a product only in a named product type).
func (c *Client) resolve(ctx context.Context, t *Target) (resolved, error) {
	r := resolved{product: t.Product, productType: t.ProductType, engagement: t.Engagement}
	var product *Product
	switch {
	case t.EngagementID != 0:
		e, err := c.Engagement(ctx, t.EngagementID)
		if err != nil {
			return r, err
		}
		if t.ProductID != 0 && t.ProductID != e.Product {
			return r, fmt.Errorf("%w: engagement %d belongs to product %d, not %d", ErrInvalidConfig, e.ID, e.Product, t.ProductID)
		}
		p, err := c.Product(ctx, e.Product)
		if err != nil {
			return r, err
		}
		if t.Product != "" && p.Name != t.Product {
			return r, fmt.Errorf("%w: engagement %d belongs to product %q, not %q", ErrInvalidConfig, e.ID, p.Name, t.Product)
		}
		r.product, r.engagement = p.Name, e.Name
		return r, nil
	case t.ProductID != 0:
		p, err := c.Product(ctx, t.ProductID)
		if err != nil {
			return r, err
		}
		product, r.product = p, p.Name
	default:
		p, err := c.productByName(ctx, t.Product)
		if err != nil {
			return r, err
		}
		product = p
	}

	if product == nil {
		switch {
		case !t.AutoCreate:
			return r, fmt.Errorf("%w: product %q (auto-create is off)", ErrNotFound, t.Product)
		case t.ProductType == "":
			return r, fmt.Errorf("%w: product %q does not exist, and creating it needs a product type", ErrInvalidConfig, t.Product)
		}
		return r, nil
	}
	if !t.AutoCreate {
		e, err := c.engagementByName(ctx, product.ID, t.Engagement)
		if err != nil {
			return r, err
		}
		if e == nil {
			return r, fmt.Errorf("%w: engagement %q of product %q (auto-create is off)", ErrNotFound, t.Engagement, product.Name)
		}
	}
	return r, nil
}

// page is a page of a DefectDojo list.
type page[T any] struct {
	Count   int `json:"count"`
	Results []T `json:"results"`
}

// list reads every page of a list (at most maxPages of 100).
func list[T any](ctx context.Context, c *Client, p string, q url.Values) ([]T, error) {
	var out []T
	for n := range maxPages {
		q.Set("limit", "100")
		q.Set("offset", strconv.Itoa(n*100))
		var pg page[T]
		if err := c.getJSON(ctx, p+"?"+q.Encode(), &pg); err != nil {
			return nil, err
		}
		out = append(out, pg.Results...)
		if len(pg.Results) == 0 || len(out) >= pg.Count {
			break
		}
	}
	return out, nil
}

// productByName returns the product of that exact name, or nil.
func (c *Client) productByName(ctx context.Context, name string) (*Product, error) {
	ps, err := list[Product](ctx, c, "api/v2/products/", url.Values{"name": {name}})
	if err != nil {
		return nil, fmt.Errorf("looking up DefectDojo product %q: %w", name, err)
	}
	for _, p := range ps {
		if p.Name == name {
			return &p, nil
		}
	}
	return nil, nil
}

// engagementByName returns the latest engagement of product with that
// name (the one DefectDojo reimports into), or nil.
func (c *Client) engagementByName(ctx context.Context, product int, name string) (*Engagement, error) {
	es, err := list[Engagement](ctx, c, "api/v2/engagements/", url.Values{"product": {strconv.Itoa(product)}, "name": {name}})
	if err != nil {
		return nil, fmt.Errorf("looking up DefectDojo engagement %q: %w", name, err)
	}
	var found *Engagement
	for _, e := range es {
		if e.Name == name && e.Product == product && (found == nil || e.ID > found.ID) {
			found = &e
		}
	}
	return found, nil
}

// Product is a DefectDojo product, as GET /api/v2/products/{id}/ gives it.
type Product struct {
	ID          int    `json:"id"`
	Name        string `json:"name"`
	ProductType int    `json:"prod_type"`
}

// Engagement is a DefectDojo engagement, as GET /api/v2/engagements/{id}/
// gives it.
type Engagement struct {
	ID      int    `json:"id"`
	Name    string `json:"name"`
	Product int    `json:"product"`
}

// Product fetches a product by ID.
func (c *Client) Product(ctx context.Context, id int) (*Product, error) {
	var p Product
	if err := c.getJSON(ctx, "api/v2/products/"+strconv.Itoa(id)+"/", &p); err != nil {
		return nil, fmt.Errorf("looking up DefectDojo product %d: %w", id, err)
	}
	return &p, nil
}

// Engagement fetches an engagement by ID.
func (c *Client) Engagement(ctx context.Context, id int) (*Engagement, error) {
	var e Engagement
	if err := c.getJSON(ctx, "api/v2/engagements/"+strconv.Itoa(id)+"/", &e); err != nil {
		return nil, fmt.Errorf("looking up DefectDojo engagement %d: %w", id, err)
	}
	return &e, nil
}

func (c *Client) getJSON(ctx context.Context, p string, v any) error {
	body, err := c.do(ctx, http.MethodGet, p, "", nil)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%w: GET %s: the answer is not JSON: %v", ErrUnavailable, c.base.Path+p, err)
	}
	return nil
}

// Report is one file to reimport.
type Report struct {
	// ScanType is DefectDojo's scan type: ScanTypeSARIF.
	ScanType string
	// TestTitle names the test in the engagement; a reimport goes to the
	// latest test of that title and scan type.
	TestTitle string
	// FileName is the file's name; DefectDojo checks its extension.
	FileName string
	// Data is the file.
	Data []byte
}

// ImportResult is DefectDojo's answer to a reimport.
type ImportResult struct {
	// TestTitle is the title the report was sent with.
	TestTitle string `json:"test_title"`
	// TestID, EngagementID, ProductID and ProductTypeID are where the
	// findings went in DefectDojo.
	TestID        int `json:"test_id"`
	EngagementID  int `json:"engagement_id"`
	ProductID     int `json:"product_id"`
	ProductTypeID int `json:"product_type_id"`
	// Statistics count the test's findings.
	Statistics Statistics `json:"statistics"`
}

// Statistics are a test's findings before and after the reimport, and
// what the reimport changed. Before and Delta are missing when the test
// was created.
type Statistics struct {
	Before *SeverityStatistics `json:"before,omitempty"`
	Delta  *Delta              `json:"delta,omitempty"`
	After  SeverityStatistics  `json:"after"`
}

// Delta is what a reimport did to the test's findings.
type Delta struct {
	Created     SeverityStatistics `json:"created"`
	Closed      SeverityStatistics `json:"closed"`
	Reactivated SeverityStatistics `json:"reactivated"`
	Untouched   SeverityStatistics `json:"untouched"`
}

// SeverityStatistics counts findings by DefectDojo severity.
type SeverityStatistics struct {
	Info     StatusStatistics `json:"info"`
	Low      StatusStatistics `json:"low"`
	Medium   StatusStatistics `json:"medium"`
	High     StatusStatistics `json:"high"`
	Critical StatusStatistics `json:"critical"`
	Total    StatusStatistics `json:"total"`
}

// StatusStatistics counts findings by status.
type StatusStatistics struct {
	Active        int `json:"active"`
	Verified      int `json:"verified"`
	Duplicate     int `json:"duplicate"`
	FalsePositive int `json:"false_p"`
	OutOfScope    int `json:"out_of_scope"`
	IsMitigated   int `json:"is_mitigated"`
	RiskAccepted  int `json:"risk_accepted"`
	Total         int `json:"total"`
}

// Reimport sends a report to POST /api/v2/reimport-scan/ for target.
//
// Errors: ErrInvalidConfig for a target that does not validate;
// ErrNotFound for a product or engagement that does not exist without
// AutoCreate; an *APIError (ErrDenied, ErrRejected, ErrUnavailable) for
// DefectDojo's refusals; ErrUnavailable for network errors after the
// retries; the context's error.
func (c *Client) Reimport(ctx context.Context, t Target, r Report) (*ImportResult, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	names, err := c.resolve(ctx, &t)
	if err != nil {
		return nil, err
	}
	return c.reimport(ctx, &t, names, r)
}

func (c *Client) reimport(ctx context.Context, t *Target, names resolved, r Report) (*ImportResult, error) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	field := func(k, v string) {
		if v != "" {
			_ = mw.WriteField(k, v)
		}
	}
	field("scan_type", r.ScanType)
	field("test_title", r.TestTitle)
	field("product_name", names.product)
	field("engagement_name", names.engagement)
	field("product_type_name", names.productType)
	// the product and engagement exist (resolve checked), or the target
	// allows creating them: auto_create_context lets DefectDojo create the
	// image's test on its first upload, and what else is missing. (Its
	// permission check takes any value as true: never send "false".)
	field("auto_create_context", "true")
	field("close_old_findings", strconv.FormatBool(t.CloseOldFindings))
	field("minimum_severity", t.MinimumSeverity)
	if t.Active != nil {
		field("active", strconv.FormatBool(*t.Active))
	}
	if t.Verified != nil {
		field("verified", strconv.FormatBool(*t.Verified))
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, r.FileName))
	h.Set("Content-Type", "application/sarif+json")
	fw, err := mw.CreatePart(h)
	if err != nil {
		return nil, err
	}
	if _, err := fw.Write(r.Data); err != nil {
		return nil, err
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}

	body, err := c.do(ctx, http.MethodPost, "api/v2/reimport-scan/", mw.FormDataContentType(), b.Bytes())
	if err != nil {
		return nil, err
	}
	var res ImportResult
	if err := json.Unmarshal(body, &res); err != nil {
		return nil, fmt.Errorf("%w: POST %sapi/v2/reimport-scan/: the answer is not JSON: %v", ErrUnavailable, c.base.Path, err)
	}
	res.TestTitle = r.TestTitle
	return &res, nil
}

// do sends a request, retried by httpretry's policy (reimport is
// idempotent, so every method may be sent again), and returns the body of a
// 2xx answer.
func (c *Client) do(ctx context.Context, method, p, contentType string, body []byte) ([]byte, error) {
	p, query, _ := strings.Cut(p, "?")
	u := c.base.JoinPath(p)
	u.Path = strings.TrimSuffix(u.Path, "/") + "/" // DefectDojo's API paths end in a slash
	u.RawQuery = query
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %s: %v", ErrInvalidConfig, method, u.Path, err)
	}
	req.Header.Set("Authorization", "Token "+c.key)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}

	var last string // the failure being retried, for a message if ctx ends
	policy := httpretry.Policy{
		Attempts:   c.attempts,
		Backoff:    c.backoff,
		Replayable: func(*http.Request) bool { return true },
		OnRetry: func(r httpretry.Retry) {
			last = c.redact(r.Reason)
			c.logger.Warn("DefectDojo request failed; retrying", "method", method, "path", u.Path,
				"attempt", r.Attempt, "of", r.Attempts, "wait", r.Delay, "error", last)
		},
	}
	resp, err := policy.Do(req, c.send)
	var fail error
	if err != nil {
		fail = fmt.Errorf("%w: %s %s: %s", ErrUnavailable, method, u.Path, c.redact(err.Error()))
	} else {
		data, _ := io.ReadAll(resp.Body) // buffered by send
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return data, nil
		}
		fail = c.apiError(method, u.Path, resp.StatusCode, data)
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		if !errors.Is(err, ctxErr) {
			return nil, fmt.Errorf("%s %s: %w (last error: %v)", method, u.Path, ctxErr, fail)
		}
		// The context ended an attempt or a wait.
		if last != "" {
			return nil, fmt.Errorf("%s %s: %w (last error: %s)", method, u.Path, ctxErr, last)
		}
		return nil, fmt.Errorf("%s %s: %w", method, u.Path, ctxErr)
	}
	return nil, fail
}

// apiError is the error for an answer that is not a success.
func (c *Client) apiError(method, path string, status int, body []byte) *APIError {
	e := &APIError{Method: method, Path: path, Status: status, Message: c.redact(apiMessage(body))}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		e.kind = ErrDenied
	case status >= 500 || status == http.StatusTooManyRequests:
		e.kind = ErrUnavailable
	default:
		e.kind = ErrRejected
	}
	return e
}

// send is one attempt: it reads the answer (up to maxBody) before returning
// it, so that an answer cut off mid-body is retried like a dropped
// connection.
func (c *Client) send(req *http.Request) (*http.Response, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	_ = resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("reading the answer: %w", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(data))
	return resp, nil
}

// redact cuts the API key out of text from elsewhere.
func (c *Client) redact(s string) string {
	if c.key == "" {
		return s
	}
	return strings.ReplaceAll(s, c.key, "[REDACTED]")
}

// apiMessage reads DefectDojo's (Django REST framework's) error body:
// {"detail": "…"}, {"message": "…"}, ["…", …] or {"field": ["…"], …}.
// Anything else gives its first line, shortened.
func apiMessage(body []byte) string {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		s := strings.TrimSpace(string(body))
		if strings.HasPrefix(s, "<") {
			return "" // an HTML error page says no more than the status
		}
		s, _, _ = strings.Cut(s, "\n")
		return shorten(s, 300)
	}
	return shorten(flatten(v), 1000)
}

func flatten(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []any:
		var parts []string
		for _, e := range x {
			if s := flatten(e); s != "" {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, "; ")
	case map[string]any:
		for _, k := range []string{"detail", "message"} {
			if s, ok := x[k].(string); ok && len(x) == 1 {
				return s
			}
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var parts []string
		for _, k := range keys {
			s := flatten(x[k])
			if k != "non_field_errors" && k != "detail" && k != "message" {
				s = k + ": " + s
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, "; ")
	case nil:
		return ""
	}
	data, _ := json.Marshal(v)
	return string(data)
}

// shorten puts s on one line of at most about n bytes, cut between
// characters.
func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// Upload reimports each result into its own test of target, titled with
// the image's repository (report.Repository), as SARIF written by
// report.WriteSARIF with opts. Images go one after the other, so that an
// auto-created product or engagement is created once. It stops at the
// first error, which names the image; the results of the images already
// sent are returned with it.
func Upload(ctx context.Context, c *Client, t Target, results []*scan.Result, opts ...report.Option) ([]*ImportResult, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	if len(results) == 0 {
		return nil, report.ErrNoResults
	}
	names, err := c.resolve(ctx, &t)
	if err != nil {
		return nil, err
	}
	var out []*ImportResult
	for _, r := range results {
		if r == nil {
			return out, report.ErrNoResults
		}
		var b bytes.Buffer
		if err := report.WriteSARIF(&b, []*scan.Result{r}, append(slices.Clip(opts), report.WithoutSuppressed())...); err != nil {
			return out, fmt.Errorf("writing the SARIF of %s: %w", r.Image, err)
		}
		repo := report.Repository(r.Image)
		res, err := c.reimport(ctx, &t, names, Report{
			ScanType:  ScanTypeSARIF,
			TestTitle: repo,
			FileName:  fileName(repo),
			Data:      b.Bytes(),
		})
		if err != nil {
			return out, fmt.Errorf("reimporting the scan of %s into DefectDojo: %w", r.Image, err)
		}
		out = append(out, res)
	}
	return out, nil
}

// fileName is the uploaded file's name: the repository's last element and
// ".sarif", an extension DefectDojo accepts.
func fileName(repo string) string {
	base := repo[strings.LastIndex(repo, "/")+1:]
	base = strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == '.' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') {
			return r
		}
		return '_'
	}, base)
	if base == "" {
		base = "scan"
	}
	return base + ".sarif"
}
