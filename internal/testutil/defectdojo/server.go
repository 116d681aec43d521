// Package defectdojo is an in-process DefectDojo for tests: the parts of
// DefectDojo's REST API v2 that sc uses, answering as DefectDojo 2.x does.
//
//   - POST /api/v2/reimport-scan/ (multipart): first the permission check
//     of UserHasReimportPermission (a test by ID, or product_name +
//     engagement_name + test_title + scan_type; auto_create_context needs
//     the names, and a product_type_name to create a product), then the
//     serializer's validation (scan_type a known choice, a report file with
//     an allowed extension, booleans, minimum_severity), then the import
//     (a new test, when auto_create_context allows it) or the reimport,
//     answered 201 with the body DefectDojo sends: test, test_id,
//     engagement_id, product_id, product_type_id and statistics (before,
//     delta and after).
//   - GET /api/v2/products/ (filter: name, contains) and
//     /api/v2/engagements/ (filters: product, name), paginated by limit and
//     offset; GET /api/v2/products/{id}/ and /api/v2/engagements/{id}/.
//
// Every request is authenticated by "Authorization: Token <key>". As in
// DefectDojo, whose first authentication class is the session's, a missing
// or wrong token is answered 403 with DRF's {"detail": …}. Validation
// errors are 400 with DRF's bodies (a list of messages from the permission
// check, messages by field from the serializer), a missing object 404, and
// an error of the importer 500 with DefectDojo's {"message": …}. Fail makes
// the next requests fail with a given status before anything else.
//
// Like DefectDojo's permission check, it takes any non-empty
// auto_create_context as true (the string "false" included): clients must
// leave the field out to mean false.
//
// Reports are read with the rules of DefectDojo's SARIF parser, the only
// scan type it knows: one finding per result of kind "fail", titled by its
// message (shortened to 150 characters), its severity from the rule's
// security-severity (else the result's level), identified by its
// fingerprints (unique_id_from_tool), on which reimport matches findings.
// Reimport creates the new findings, leaves matching ones alone,
// reactivates matching mitigated ones and, with close_old_findings
// (DefectDojo's default on reimport), mitigates the ones missing from the
// report.
//
// Everything is in memory; the server listens on 127.0.0.1 and stops with
// the test. It does not implement deduplication across tests, JIRA, tags,
// or any other parser.
package defectdojo

import (
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// ScanTypeSARIF is the one scan type the server parses.
const ScanTypeSARIF = "SARIF"

// allowedExtensions are DefectDojo's default FILE_IMPORT_TYPES.
var allowedExtensions = []string{".xml", ".csv", ".nessus", ".json", ".jsonl", ".html", ".js", ".zip", ".xlsx", ".txt", ".sarif"}

// severities are DefectDojo's, least severe first.
var severities = []string{"Info", "Low", "Medium", "High", "Critical"}

// Server is an in-process DefectDojo.
type Server struct {
	// URL is the base URL, "http://127.0.0.1:<port>".
	URL string

	token string

	mu           sync.Mutex
	lastID       int
	productTypes []*ProductType
	products     []*Product
	engagements  []*Engagement
	tests        []*Test
	findings     []*Finding
	faults       []int
	requests     []Request
}

// ProductType is a DefectDojo product type ("organization").
type ProductType struct {
	ID   int
	Name string
}

// Product is a DefectDojo product ("asset").
type Product struct {
	ID            int
	Name          string
	ProductTypeID int
}

// Engagement is a DefectDojo engagement of a product.
type Engagement struct {
	ID        int
	Name      string
	ProductID int
}

// Test is one imported report in an engagement.
type Test struct {
	ID           int
	Title        string
	ScanType     string
	EngagementID int
}

// Finding is a finding of a test.
type Finding struct {
	ID, TestID       int
	Title            string
	Severity         string
	Active           bool
	Verified         bool
	IsMitigated      bool
	UniqueIDFromTool string
	VulnIDFromTool   string
	FilePath         string
	Line             int
}

// Request is a request the server answered.
type Request struct {
	Method string
	Path   string
	// Authorization is the header as sent.
	Authorization string
	// Status is the answer's status code.
	Status int
	// Fields are the multipart form fields, for reimport-scan.
	Fields map[string]string
	// FileName and File are the uploaded report.
	FileName string
	File     []byte
}

// New starts a DefectDojo on 127.0.0.1 that accepts token, and stops it
// when the test ends.
func New(t testing.TB, token string) *Server {
	t.Helper()
	s := &Server{token: token}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

func (s *Server) id() int {
	s.lastID++
	return s.lastID
}

// AddProductType creates a product type, or returns the one of that name.
func (s *Server) AddProductType(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.productType(name).ID
}

func (s *Server) productType(name string) *ProductType {
	for _, pt := range s.productTypes {
		if pt.Name == name {
			return pt
		}
	}
	pt := &ProductType{ID: s.id(), Name: name}
	s.productTypes = append(s.productTypes, pt)
	return pt
}

// AddProduct creates a product in a product type (created if missing) and
// returns its ID.
func (s *Server) AddProduct(name, productType string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := &Product{ID: s.id(), Name: name, ProductTypeID: s.productType(productType).ID}
	s.products = append(s.products, p)
	return p.ID
}

// AddEngagement creates an engagement of a product and returns its ID.
func (s *Server) AddEngagement(productID int, name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := &Engagement{ID: s.id(), Name: name, ProductID: productID}
	s.engagements = append(s.engagements, e)
	return e.ID
}

// Fail answers the next len(statuses) requests with these statuses, in
// order, before authentication: 500 with DefectDojo's JSON body, 502 to 504
// with a proxy's HTML page.
func (s *Server) Fail(statuses ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, statuses...)
}

// Products returns the products.
func (s *Server) Products() []Product {
	s.mu.Lock()
	defer s.mu.Unlock()
	return values(s.products)
}

// Engagements returns the engagements.
func (s *Server) Engagements() []Engagement {
	s.mu.Lock()
	defer s.mu.Unlock()
	return values(s.engagements)
}

// Tests returns the tests.
func (s *Server) Tests() []Test {
	s.mu.Lock()
	defer s.mu.Unlock()
	return values(s.tests)
}

// Findings returns the findings of a test.
func (s *Server) Findings(testID int) []Finding {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Finding
	for _, f := range s.findings {
		if f.TestID == testID {
			out = append(out, *f)
		}
	}
	return out
}

// Requests returns the requests answered so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

func values[T any](ps []*T) []T {
	out := make([]T, 0, len(ps))
	for _, p := range ps {
		out = append(out, *p)
	}
	return out
}

// answer is an HTTP answer: a status and a JSON body (or raw HTML).
type answer struct {
	status int
	body   any
	html   string
}

func errList(msg string) answer { return answer{status: http.StatusBadRequest, body: []string{msg}} }

func errFields(fields map[string][]string) answer {
	return answer{status: http.StatusBadRequest, body: fields}
}

func detail(status int, msg string) answer {
	return answer{status: status, body: map[string]string{"detail": msg}}
}

var serverError = answer{status: http.StatusInternalServerError, body: map[string]string{"message": "Internal server error, check logs for details"}}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rec := Request{Method: r.Method, Path: r.URL.Path, Authorization: r.Header.Get("Authorization")}
	a := s.handle(r, &rec)
	rec.Status = a.status

	s.mu.Lock()
	s.requests = append(s.requests, rec)
	s.mu.Unlock()

	if a.html != "" {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(a.status)
		_, _ = io.WriteString(w, a.html)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Allow", "POST, OPTIONS")
	w.WriteHeader(a.status)
	_ = json.NewEncoder(w).Encode(a.body)
}

func (s *Server) handle(r *http.Request, rec *Request) answer {
	s.mu.Lock()
	if len(s.faults) > 0 {
		status := s.faults[0]
		s.faults = s.faults[1:]
		s.mu.Unlock()
		switch {
		case status == http.StatusInternalServerError:
			return serverError
		case status >= 502 && status <= 504:
			return answer{status: status, html: fmt.Sprintf("<html><body><h1>%d %s</h1></body></html>", status, http.StatusText(status))}
		}
		return detail(status, http.StatusText(status))
	}
	s.mu.Unlock()

	auth := r.Header.Get("Authorization")
	keyword, key, _ := strings.Cut(auth, " ")
	switch {
	case !strings.EqualFold(keyword, "Token") || key == "":
		return detail(http.StatusForbidden, "Authentication credentials were not provided.")
	case key != s.token:
		return detail(http.StatusForbidden, "Invalid token.")
	}

	p := strings.TrimSuffix(r.URL.Path, "/") + "/"
	switch {
	case p == "/api/v2/reimport-scan/":
		if r.Method != http.MethodPost {
			return detail(http.StatusMethodNotAllowed, fmt.Sprintf("Method \"%s\" not allowed.", r.Method))
		}
		return s.reimport(r, rec)
	case r.Method == http.MethodGet && p == "/api/v2/products/":
		return s.listProducts(r)
	case r.Method == http.MethodGet && p == "/api/v2/engagements/":
		return s.listEngagements(r)
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/api/v2/products/"):
		return s.getObject(p, "/api/v2/products/", "Product")
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/api/v2/engagements/"):
		return s.getObject(p, "/api/v2/engagements/", "Engagement")
	}
	return detail(http.StatusNotFound, "Not found.")
}

func productJSON(p *Product) map[string]any {
	return map[string]any{"id": p.ID, "name": p.Name, "description": p.Name, "prod_type": p.ProductTypeID}
}

func engagementJSON(e *Engagement) map[string]any {
	return map[string]any{"id": e.ID, "name": e.Name, "product": e.ProductID, "engagement_type": "CI/CD", "status": "In Progress"}
}

// listProducts is GET /api/v2/products/ with ApiProductFilter's name
// (contains, any case) and LimitOffsetPagination.
func (s *Server) listProducts(r *http.Request) answer {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []map[string]any
	for _, p := range s.products {
		if name := q.Get("name"); name == "" || strings.Contains(strings.ToLower(p.Name), strings.ToLower(name)) {
			all = append(all, productJSON(p))
		}
	}
	return paginate(r, all)
}

// listEngagements is GET /api/v2/engagements/ with ApiEngagementFilter's
// product and name (exact).
func (s *Server) listEngagements(r *http.Request) answer {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []map[string]any
	for _, e := range s.engagements {
		if (q.Get("product") == "" || q.Get("product") == strconv.Itoa(e.ProductID)) && (q.Get("name") == "" || q.Get("name") == e.Name) {
			all = append(all, engagementJSON(e))
		}
	}
	return paginate(r, all)
}

// paginate is DRF's LimitOffsetPagination, DefectDojo's default of 25.
func paginate(r *http.Request, all []map[string]any) answer {
	q := r.URL.Query()
	limit, err := strconv.Atoi(q.Get("limit"))
	if err != nil || limit <= 0 {
		limit = 25
	}
	offset, err := strconv.Atoi(q.Get("offset"))
	if err != nil || offset < 0 {
		offset = 0
	}
	results := []map[string]any{}
	if offset < len(all) {
		results = all[offset:min(offset+limit, len(all))]
	}
	var next any
	if offset+limit < len(all) {
		u := *r.URL
		q.Set("offset", strconv.Itoa(offset+limit))
		u.RawQuery = q.Encode()
		next = "http://" + r.Host + u.String()
	}
	return answer{status: http.StatusOK, body: map[string]any{"count": len(all), "next": next, "previous": nil, "results": results}}
}

func (s *Server) getObject(p, prefix, kind string) answer {
	id, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(p, prefix), "/"))
	if err != nil {
		return detail(http.StatusNotFound, "Not found.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch kind {
	case "Product":
		for _, pr := range s.products {
			if pr.ID == id {
				return answer{status: http.StatusOK, body: productJSON(pr)}
			}
		}
	case "Engagement":
		for _, e := range s.engagements {
			if e.ID == id {
				return answer{status: http.StatusOK, body: engagementJSON(e)}
			}
		}
	}
	return detail(http.StatusNotFound, fmt.Sprintf("No %s matches the given query.", kind))
}

// reimport is /api/v2/reimport-scan/.
func (s *Server) reimport(r *http.Request, rec *Request) answer {
	if err := r.ParseMultipartForm(32 << 20); err != nil {
		return answer{status: http.StatusUnsupportedMediaType, body: map[string]string{
			"detail": fmt.Sprintf("Unsupported media type \"%s\" in request.", r.Header.Get("Content-Type")),
		}}
	}
	fields := map[string]string{}
	for k, v := range r.MultipartForm.Value {
		if len(v) > 0 {
			fields[k] = v[0]
		}
	}
	rec.Fields = fields
	var file *multipart.FileHeader
	if fh := r.MultipartForm.File["file"]; len(fh) > 0 {
		file = fh[0]
		rec.FileName = file.Filename
		if f, err := file.Open(); err == nil {
			rec.File, _ = io.ReadAll(f)
			_ = f.Close()
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()

	// UserHasReimportPermission: before the serializer, on the raw data
	if a, ok := s.permission(fields); !ok {
		return a
	}

	// the serializer
	errs := map[string][]string{}
	scanType := fields["scan_type"]
	switch {
	case scanType == "":
		errs["scan_type"] = []string{"This field is required."}
	case scanType != ScanTypeSARIF:
		errs["scan_type"] = []string{fmt.Sprintf("\"%s\" is not a valid choice.", scanType)}
	}
	bools := map[string]*bool{}
	for _, k := range []string{"auto_create_context", "close_old_findings", "active", "verified", "do_not_reactivate"} {
		v, present := fields[k]
		if !present {
			continue
		}
		b, ok := parseBool(v)
		if !ok {
			errs[k] = []string{"Must be a valid boolean."}
			continue
		}
		bools[k] = &b
	}
	minSeverity := "Info"
	if v, ok := fields["minimum_severity"]; ok {
		if !slices.Contains(severities, v) {
			errs["minimum_severity"] = []string{fmt.Sprintf("\"%s\" is not a valid choice.", v)}
		}
		minSeverity = v
	}
	if file != nil && !slices.Contains(allowedExtensions, strings.ToLower(path.Ext(file.Filename))) {
		errs["file"] = []string{"Unsupported extension. Supported extensions are as follows: " + strings.Join(allowedExtensions, ", ")}
	}
	if len(errs) > 0 {
		return errFields(errs)
	}
	if file == nil {
		return errFields(map[string][]string{"non_field_errors": {"Uploading a Report File is required for " + scanType}})
	}

	report, err := parseSARIF(rec.File)
	if err != nil {
		// DefectDojo turns a parser's ValueError into a 500
		return serverError
	}
	var kept []*Finding
	for _, f := range report {
		if severityRank(f.Severity) >= severityRank(minSeverity) {
			kept = append(kept, f)
		}
	}
	if v := bools["active"]; v != nil {
		for _, f := range kept {
			f.Active = *v
		}
	}
	if v := bools["verified"]; v != nil {
		for _, f := range kept {
			f.Verified = *v
		}
	}
	autoCreate := bools["auto_create_context"] != nil && *bools["auto_create_context"]
	closeOld := bools["close_old_findings"] == nil || *bools["close_old_findings"] // true by default on reimport
	reactivate := bools["do_not_reactivate"] == nil || !*bools["do_not_reactivate"]

	// process_scan
	product, _ := s.findProduct(fields["product_name"], fields["product_type_name"])
	engagement := s.findEngagement(fields["engagement_name"], product)
	test := s.findTest(fields["test"], fields["test_title"], scanType, engagement)
	stats := map[string]any{}
	if test != nil {
		stats["before"] = statistics(s.testFindings(test.ID))
		delta := s.reimportFindings(test, kept, closeOld, reactivate)
		stats["delta"] = delta
	} else if autoCreate {
		if engagement == nil {
			if product == nil {
				product = &Product{ID: s.id(), Name: fields["product_name"], ProductTypeID: s.productType(fields["product_type_name"]).ID}
				s.products = append(s.products, product)
			}
			engagement = &Engagement{ID: s.id(), Name: fields["engagement_name"], ProductID: product.ID}
			s.engagements = append(s.engagements, engagement)
		}
		test = &Test{ID: s.id(), Title: fields["test_title"], ScanType: scanType, EngagementID: engagement.ID}
		s.tests = append(s.tests, test)
		for _, f := range kept {
			f.ID, f.TestID = s.id(), test.ID
			s.findings = append(s.findings, f)
		}
	} else {
		return detail(http.StatusNotFound, "A test could not be found!")
	}
	engagement = s.engagementByID(test.EngagementID)
	product = s.productByID(engagement.ProductID)
	stats["after"] = statistics(s.testFindings(test.ID))

	body := map[string]any{}
	for k, v := range fields {
		body[k] = v
	}
	for k, v := range bools {
		body[k] = *v
	}
	body["scan_type"] = scanType
	body["minimum_severity"] = minSeverity
	body["close_old_findings"] = closeOld
	body["test"] = test.ID
	body["test_id"] = test.ID
	body["engagement_id"] = engagement.ID
	body["product_id"] = product.ID
	body["product_type_id"] = product.ProductTypeID
	body["statistics"] = stats
	return answer{status: http.StatusCreated, body: body}
}

// permission is UserHasReimportPermission.has_permission, on the raw form
// values (so any non-empty auto_create_context is true).
func (s *Server) permission(fields map[string]string) (answer, bool) {
	testID := fields["test"]
	if testID != "" && !isDigits(testID) {
		return errList("test must be an integer"), false
	}
	productName, productTypeName := fields["product_name"], fields["product_type_name"]
	engagementName := fields["engagement_name"]
	var productType *ProductType
	for _, pt := range s.productTypes {
		if productTypeName != "" && pt.Name == productTypeName {
			productType = pt
		}
	}
	product, err := s.findProduct(productName, productTypeName)
	if err != nil {
		return errList(err.Error()), false
	}
	engagement := s.findEngagement(engagementName, product)
	if test := s.findTest(testID, fields["test_title"], fields["scan_type"], engagement); test != nil {
		return answer{}, true
	}
	if testID != "" {
		return errList(fmt.Sprintf("Test \"%s\" does not exist", testID)), false
	}
	if fields["auto_create_context"] == "" {
		// raise_no_auto_create_import_validation_error
		switch {
		case productName == "":
			return errList("product_name parameter missing"), false
		case engagementName == "":
			return errList("engagement_name parameter missing"), false
		case productTypeName != "" && productType == nil:
			return errList(fmt.Sprintf("Product Type \"%s\" does not exist", productTypeName)), false
		case product == nil && productTypeName != "":
			return errList(fmt.Sprintf("Product \"%s\" does not exist in Product_Type \"%s\"", productName, productTypeName)), false
		case product == nil:
			return errList(fmt.Sprintf("Product \"%s\" does not exist", productName)), false
		case engagement == nil:
			return errList(fmt.Sprintf("Engagement \"%s\" does not exist in Product \"%s\"", engagementName, productName)), false
		case fields["test_title"] != "":
			return errList(fmt.Sprintf("Test \"%s\" with scan_type \"%s\" does not exist in Engagement \"%s\"", fields["test_title"], fields["scan_type"], engagementName)), false
		case fields["scan_type"] != "":
			return errList(fmt.Sprintf("Test with scan_type \"%s\" does not exist in Engagement \"%s\"", fields["scan_type"], engagementName)), false
		}
		return errList("Need test_id or product_name + engagement_name + scan_type to perform reimport"), false
	}
	// check_auto_create_permission
	switch {
	case productName == "":
		return errList("product_name parameter missing"), false
	case engagementName == "":
		return errList("engagement_name parameter missing"), false
	case engagement != nil, product != nil:
		return answer{}, true
	case productTypeName == "":
		return errList(fmt.Sprintf("Product \"%s\" does not exist and no product_type_name provided to create the new product in", productName)), false
	}
	return answer{}, true
}

func (s *Server) findProduct(name, productTypeName string) (*Product, error) {
	if name == "" {
		return nil, nil
	}
	for _, p := range s.products {
		if p.Name != name {
			continue
		}
		pt := s.productTypeByID(p.ProductTypeID)
		if productTypeName != "" && pt.Name != productTypeName {
			return nil, fmt.Errorf("The fetched product has a conflict with the supplied product type name: existing product type name - %s vs supplied product type name - %s", pt.Name, productTypeName)
		}
		return p, nil
	}
	return nil, nil
}

// findEngagement returns the last engagement of that name in product.
func (s *Server) findEngagement(name string, product *Product) *Engagement {
	if product == nil {
		return nil
	}
	var found *Engagement
	for _, e := range s.engagements {
		if e.ProductID == product.ID && e.Name == name {
			found = e
		}
	}
	return found
}

// findTest returns the test of that ID, else the last test of the
// engagement with that title (if any) and scan type.
func (s *Server) findTest(id, title, scanType string, engagement *Engagement) *Test {
	if n, err := strconv.Atoi(id); err == nil {
		for _, t := range s.tests {
			if t.ID == n {
				return t
			}
		}
	}
	if engagement == nil {
		return nil
	}
	var found *Test
	for _, t := range s.tests {
		if t.EngagementID == engagement.ID && t.ScanType == scanType && (title == "" || t.Title == title) {
			found = t
		}
	}
	return found
}

func (s *Server) productTypeByID(id int) *ProductType {
	for _, pt := range s.productTypes {
		if pt.ID == id {
			return pt
		}
	}
	return &ProductType{}
}

func (s *Server) productByID(id int) *Product {
	for _, p := range s.products {
		if p.ID == id {
			return p
		}
	}
	return &Product{}
}

func (s *Server) engagementByID(id int) *Engagement {
	for _, e := range s.engagements {
		if e.ID == id {
			return e
		}
	}
	return &Engagement{}
}

func (s *Server) testFindings(testID int) []*Finding {
	var out []*Finding
	for _, f := range s.findings {
		if f.TestID == testID {
			out = append(out, f)
		}
	}
	return out
}

// reimportFindings is DefaultReImporter: it matches the report's findings
// with the test's and returns the delta statistics.
func (s *Server) reimportFindings(test *Test, report []*Finding, closeOld, reactivate bool) map[string]any {
	existing := s.testFindings(test.ID)
	matched := map[*Finding]bool{}
	var created, reactivated, untouched, closed []*Finding
	for _, f := range report {
		var match *Finding
		for _, e := range existing {
			if !matched[e] && sameFinding(e, f) {
				match = e
				break
			}
		}
		if match == nil {
			f.ID, f.TestID = s.id(), test.ID
			s.findings = append(s.findings, f)
			created = append(created, f)
			continue
		}
		matched[match] = true
		if match.IsMitigated && reactivate {
			match.IsMitigated, match.Active = false, true
			reactivated = append(reactivated, match)
			continue
		}
		untouched = append(untouched, match)
	}
	if closeOld {
		for _, e := range existing {
			if !matched[e] && !e.IsMitigated {
				e.IsMitigated, e.Active = true, false
				closed = append(closed, e)
			}
		}
	}
	return map[string]any{
		"created":     statistics(created),
		"closed":      statistics(closed),
		"reactivated": statistics(reactivated),
		"untouched":   statistics(untouched),
	}
}

// sameFinding is DEDUPE_ALGO_UNIQUE_ID_FROM_TOOL_OR_HASH_CODE, SARIF's.
func sameFinding(a, b *Finding) bool {
	if a.UniqueIDFromTool != "" && b.UniqueIDFromTool != "" {
		return a.UniqueIDFromTool == b.UniqueIDFromTool
	}
	return a.Title == b.Title && a.FilePath == b.FilePath && a.Line == b.Line
}

// statistics is Test.statistics: counts by severity and status.
func statistics(fs []*Finding) map[string]map[string]int {
	out := map[string]map[string]int{}
	for _, sev := range append(slices.Clone(severities), "total") {
		out[strings.ToLower(sev)] = map[string]int{
			"active": 0, "verified": 0, "duplicate": 0, "false_p": 0, "out_of_scope": 0, "is_mitigated": 0, "risk_accepted": 0, "total": 0,
		}
	}
	for _, f := range fs {
		for _, key := range []string{strings.ToLower(f.Severity), "total"} {
			m := out[key]
			m["total"]++
			if f.Active {
				m["active"]++
			}
			if f.Verified {
				m["verified"]++
			}
			if f.IsMitigated {
				m["is_mitigated"]++
			}
		}
	}
	return out
}

func severityRank(s string) int { return slices.Index(severities, s) }

func isDigits(s string) bool {
	_, err := strconv.ParseUint(s, 10, 64)
	return err == nil
}

// parseBool is DRF's BooleanField.
func parseBool(v string) (bool, bool) {
	switch strings.ToLower(v) {
	case "true", "t", "yes", "y", "on", "1":
		return true, true
	case "false", "f", "no", "n", "off", "0":
		return false, true
	}
	return false, false
}

// sarifLog is what DefectDojo's SARIF parser reads.
type sarifLog struct {
	Runs []struct {
		Tool struct {
			Driver struct {
				Rules []struct {
					ID                   string         `json:"id"`
					Properties           map[string]any `json:"properties"`
					DefaultConfiguration *struct {
						Level string `json:"level"`
					} `json:"defaultConfiguration"`
				} `json:"rules"`
			} `json:"driver"`
		} `json:"tool"`
		Results []struct {
			RuleID  string `json:"ruleId"`
			Kind    string `json:"kind"`
			Level   string `json:"level"`
			Message struct {
				Text string `json:"text"`
			} `json:"message"`
			Locations []struct {
				PhysicalLocation *struct {
					ArtifactLocation struct {
						URI string `json:"uri"`
					} `json:"artifactLocation"`
					Region *struct {
						StartLine int `json:"startLine"`
					} `json:"region"`
				} `json:"physicalLocation"`
			} `json:"locations"`
			Fingerprints        map[string]string `json:"fingerprints"`
			PartialFingerprints map[string]string `json:"partialFingerprints"`
		} `json:"results"`
	} `json:"runs"`
}

// parseSARIF reads findings as DefectDojo's SARIF parser does.
func parseSARIF(data []byte) ([]*Finding, error) {
	var log sarifLog
	if err := json.Unmarshal(data, &log); err != nil {
		return nil, err
	}
	var out []*Finding
	for _, run := range log.Runs {
		type rule struct {
			props map[string]any
			level string
		}
		rules := map[string]rule{}
		for _, r := range run.Tool.Driver.Rules {
			ru := rule{props: r.Properties}
			if r.DefaultConfiguration != nil {
				ru.level = r.DefaultConfiguration.Level
			}
			rules[r.ID] = ru
		}
		for _, res := range run.Results {
			if res.Kind != "" && res.Kind != "fail" {
				continue
			}
			f := &Finding{Title: shorten(res.Message.Text, 150), VulnIDFromTool: res.RuleID, Active: true}
			if f.Title == "" {
				return nil, fmt.Errorf("No information found to create a title")
			}
			if len(res.Locations) > 0 && res.Locations[0].PhysicalLocation != nil {
				f.FilePath = res.Locations[0].PhysicalLocation.ArtifactLocation.URI
				if reg := res.Locations[0].PhysicalLocation.Region; reg != nil {
					f.Line = reg.StartLine
				}
			}
			level := res.Level
			ru, hasRule := rules[res.RuleID]
			if level == "" && hasRule {
				level = ru.level
			}
			switch level {
			case "note":
				f.Severity = "Info"
			case "error":
				f.Severity = "High"
			default:
				f.Severity = "Medium"
			}
			if hasRule {
				if v, ok := ru.props["security-severity"]; ok {
					score, err := strconv.ParseFloat(fmt.Sprint(v), 64)
					if err != nil {
						return nil, err
					}
					f.Severity = cvssSeverity(score)
				}
			}
			switch {
			case len(res.Fingerprints) > 0:
				hashes, err := fingerprintHashes(res.Fingerprints)
				if err != nil {
					return nil, err
				}
				// the first key, in the document's order; Go's map has
				// none, so the first by name
				keys := sortedKeys(hashes)
				f.UniqueIDFromTool = hashes[keys[0]].value
			case len(res.PartialFingerprints) > 0:
				hashes, err := fingerprintHashes(res.PartialFingerprints)
				if err != nil {
					return nil, err
				}
				var parts []string
				for _, k := range sortedKeys(hashes) {
					parts = append(parts, k+":"+hashes[k].value)
				}
				f.UniqueIDFromTool = strings.Join(parts, "|")
			}
			out = append(out, f)
		}
	}
	return out, nil
}

type hashValue struct {
	version int
	value   string
}

// fingerprintHashes is the parser's get_fingerprints_hashes: "name/vN"
// keys keep the highest version of each name.
func fingerprintHashes(values map[string]string) (map[string]hashValue, error) {
	out := map[string]hashValue{}
	for _, key := range sortedKeys(values) {
		method, version := key, 0
		if strings.Contains(key, "/") {
			parts := strings.Split(key, "/")
			method = parts[len(parts)-2]
			v, err := strconv.Atoi(strings.ReplaceAll(parts[len(parts)-1], "v", ""))
			if err != nil {
				return nil, fmt.Errorf("invalid literal for int() with base 10: %q", parts[len(parts)-1])
			}
			version = v
		}
		if h, ok := out[method]; !ok || h.version < version {
			out[method] = hashValue{version: version, value: values[key]}
		}
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// cvssSeverity is the parser's cvss_to_severity.
func cvssSeverity(score float64) string {
	switch {
	case score >= 9:
		return "Critical"
	case score >= 7:
		return "High"
	case score >= 4:
		return "Medium"
	case score > 0:
		return "Low"
	}
	return "Info"
}

// shorten is Python's textwrap.shorten: whitespace collapsed, and text
// longer than width cut at a word boundary, ending in " [...]".
func shorten(text string, width int) string {
	words := strings.Fields(text)
	s := strings.Join(words, " ")
	if len(s) <= width {
		return s
	}
	const placeholder = " [...]"
	var b strings.Builder
	for _, w := range words {
		next := w
		if b.Len() > 0 {
			next = " " + w
		}
		if b.Len()+len(next)+len(placeholder) > width {
			break
		}
		b.WriteString(next)
	}
	return b.String() + placeholder
}
