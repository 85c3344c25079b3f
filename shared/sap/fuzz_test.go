package sap

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/d365sap/d365sap/infra/local/kit"
)

// Everything SAP (or a gateway in front of it) answers is outside input: entities and pages, the __next link
// that decides where the next request goes, error bodies, $batch answers and token responses. None of it may
// panic the client, and what the client accepts must be what SAP said.

// fuzzKitFiles reads the kit's files under sub (e.g. "sap/samples") matching pattern, as seeds. Without the kit
// the target skips locally and fails in CI, as every test that reads the kit does.
func fuzzKitFiles(f *testing.F, sub, pattern string) map[string][]byte {
	f.Helper()
	dir := filepath.Join(kit.Dir(f, sub), sub)
	names, err := filepath.Glob(filepath.Join(dir, pattern))
	if err != nil || len(names) == 0 {
		f.Fatalf("no kit files %s in %s (%v)", pattern, dir, err)
	}
	out := map[string][]byte{}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		out[filepath.Base(n)] = b
	}
	return out
}

func fuzzResponse(status int, h http.Header, body []byte) *http.Response {
	if h == nil {
		h = http.Header{}
	}
	return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(bytes.NewReader(body))}
}

// entityAgreesWithRow decodes body as an entity into T and checks that the same entity read as the only row
// of a collection decodes to the same value: the two readers of SAP's JSON must not disagree about a row.
func entityAgreesWithRow[T any](t *testing.T, body []byte) {
	t.Helper()
	var ent T
	err := decodeEntity(fuzzResponse(200, nil, body), &ent)
	if err != nil {
		return
	}
	var env struct {
		D json.RawMessage `json:"d"`
	}
	if jerr := json.NewDecoder(bytes.NewReader(body)).Decode(&env); jerr != nil {
		t.Fatalf("decodeEntity accepted a body the envelope does not decode from: %v", jerr)
	}
	page := append(append([]byte(`{"d":{"results":[`), env.D...), "]}}"...)
	var rows []T
	if _, perr := decodePage(bytes.NewReader(page), func(v T) bool { rows = append(rows, v); return true }); perr != nil || len(rows) != 1 {
		t.Fatalf("entity %T decodes alone but not as a row (%d rows, %v)", ent, len(rows), perr)
	}
	if !reflect.DeepEqual(rows[0], ent) {
		t.Fatalf("entity %T decodes differently as a row:\nentity %+v\nrow    %+v", ent, ent, rows[0])
	}
}

// FuzzDecodeEntity reads {"d":{...}} as every entity type the client reads one at a time.
func FuzzDecodeEntity(f *testing.F) {
	for name, b := range fuzzKitFiles(f, "sap/samples", "GET_*.json") {
		f.Add(b)
		if strings.Contains(name, "readOne") {
			// The same entity with escaped slashes in its dates, as some gateways write them.
			f.Add(bytes.ReplaceAll(b, []byte("/Date("), []byte(`\/Date(`)))
		}
	}
	for _, s := range []string{`{"d":{}}`, `{"d":null}`, `{}`, `{"d":[]}`, `{"d":{"SalesOrder":"1","to_Item":{"__deferred":{"uri":"x"}}}}`,
		`{"d":{"SalesOrder":"1","to_Item":[{"RequestedQuantity":"2.500"}],"YY1_D365OrderID_SDH":"abc","ZZ1_N_SDH":7}}`,
		`{"d":{"CreationDate":"\/Date(1552867200000)\/","LastChangeDateTime":"/Date(1552895997855+0000)/","TotalNetAmount":"24.25"}}`,
		`{"d":{"BillingDocument":"90000001","CancelledBillingDocument":"","InvoiceClearingStatus":"A","to_Item":{"results":[{"BillingDocumentItem":"10","NetAmount":"12.34","to_PricingElement":{"results":[{"ConditionType":"PPR0","ConditionRateValue":"12.500","ConditionQuantity":"100","ConditionAmount":"12.34"}]}}]}}}`,
		`{"d":{"TotalNetAmount":1e3}}`, `{"d":{"to_Item":{"results":null}}}`, `{"d":{"YY1_":"x"}} trailing`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		entityAgreesWithRow[SalesOrder](t, body)
		entityAgreesWithRow[OutboundDelivery](t, body)
		entityAgreesWithRow[BillingDocument](t, body)
		entityAgreesWithRow[BusinessPartner](t, body)
		var so SalesOrder
		if decodeEntity(fuzzResponse(200, nil, body), &so) == nil {
			for name := range so.Extensions {
				if !isCustomProperty(name) {
					t.Fatalf("extension %q is not a custom property", name)
				}
			}
		}
	})
}

// FuzzDecodePage walks collection pages: no panic, a typed read never yields more rows than the page holds, a
// read stopped after one row yields exactly the first row, and a __next link is only followed inside the service.
func FuzzDecodePage(f *testing.F) {
	for _, b := range fuzzKitFiles(f, "sap/samples", "GET_*.json") {
		f.Add(b)
	}
	for _, s := range []string{`{"d":{"results":[],"__count":"0"}}`, `{"d":[{"SalesOrder":"1"},{"SalesOrder":"2"}]}`,
		`{"d":{"results":[{"SalesOrder":"1"}],"__next":"https://s4.example.com/sap/opu/odata/sap/API_SALES_ORDER_SRV/A_SalesOrder?$skiptoken=1"}}`,
		`{"d":{"results":[{}],"__next":"A_SalesOrder?$skiptoken=1"}}`, `{"d":{"__count":"x"}}`, `{"d":{"__count":12}}`,
		`{"x":[1,{"y":2}],"d":{"other":{"a":[]},"results":[{"SalesOrder":"1","TotalNetAmount":"x"}]}}`, `{"d":"s"}`, `[]`, `{"d":{"results":[1]}}`} {
		f.Add([]byte(s))
	}
	c := fuzzClient(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		var raws []json.RawMessage
		pg, err := decodePage(bytes.NewReader(body), func(r json.RawMessage) bool { raws = append(raws, r); return true })
		var typed []SalesOrder
		_, terr := decodePage(bytes.NewReader(body), func(so SalesOrder) bool { typed = append(typed, so); return true })
		if len(typed) > len(raws) || (err == nil && terr == nil && len(typed) != len(raws)) || (err != nil && terr == nil) {
			t.Fatalf("typed read: %d rows (%v), raw read: %d rows (%v)", len(typed), terr, len(raws), err)
		}
		if len(raws) > 0 {
			var first []json.RawMessage
			if _, err := decodePage(bytes.NewReader(body), func(r json.RawMessage) bool { first = append(first, r); return false }); err != nil ||
				len(first) != 1 || !bytes.Equal(first[0], raws[0]) {
				t.Fatalf("a read stopped after one row gave %q (%v), want %q", first, err, raws[0])
			}
		}
		if err == nil && pg.next != "" {
			checkNextURL(t, c, ServiceSalesOrder, pg.next)
		}
	})
}

func fuzzClient(tb testing.TB) *Client {
	c, err := New(Options{BaseURL: "https://s4.example.com", SAPClient: "100", AuthMode: AuthBasic, Username: "u", Password: "p",
		Timeout: 30 * time.Second, MaxResponseBytes: 32 << 20})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// checkNextURL is the promise nextURL makes: what it accepts goes to the configured host, inside the service,
// with the configured sap-client; the host in SAP's answer never decides where credentials go.
func checkNextURL(t *testing.T, c *Client, service, next string) {
	t.Helper()
	out, err := c.nextURL(service, next)
	if err != nil {
		return
	}
	u, err := url.Parse(out)
	if err != nil {
		t.Fatalf("nextURL(%q) = %q, which does not parse: %v", next, out, err)
	}
	if u.Scheme != "https" || u.Host != "s4.example.com" || u.User != nil {
		t.Fatalf("nextURL(%q) = %q leaves the configured host", next, out)
	}
	if !strings.HasPrefix(u.Path, ServicePrefix+service+"/") || strings.Contains(u.Path, "..") {
		t.Fatalf("nextURL(%q) = %q leaves service %s", next, out, service)
	}
	if !strings.Contains(u.RawQuery, "sap-client=") {
		t.Fatalf("nextURL(%q) = %q lost the sap-client", next, out)
	}
}

// FuzzNextURL follows __next links as SAP (or anyone able to change its answer) may write them.
func FuzzNextURL(f *testing.F) {
	for _, s := range []string{
		"https://s4.example.com/sap/opu/odata/sap/API_SALES_ORDER_SRV/A_SalesOrder?$skiptoken=10&sap-client=100",
		"https://myXXXXXX-api.s4hana.ondemand.com/sap/opu/odata/sap/API_OUTBOUND_DELIVERY_SRV;v=0002/A_OutbDeliveryHeader?$skiptoken=2",
		"A_SalesOrder?$skiptoken=10", "/sap/opu/odata/sap/API_SALES_ORDER_SRV/../API_BUSINESS_PARTNER/A_BusinessPartner",
		"https://evil.example.com/steal", "//evil.example.com/sap/opu/odata/sap/API_SALES_ORDER_SRV/A_SalesOrder",
		"/sap/opu/odata/sap/API_SALES_ORDER_SRV/%2e%2e/x", "/sap/opu/odata/sap/API_SALES_ORDER_SRVX/A", "http://[::1", "?$skip=1", "",
		"https://user:pw@s4.example.com/sap/opu/odata/sap/API_SALES_ORDER_SRV/A_SalesOrder#frag",
	} {
		f.Add(s)
	}
	c := fuzzClient(f)
	f.Fuzz(func(t *testing.T, next string) {
		for _, service := range []string{ServiceSalesOrder, ServiceDelivery} {
			checkNextURL(t, c, service, next)
		}
	})
}

// FuzzParseErrorAnswers reads error answers as SAP Gateway, the Web Dispatcher or a proxy write them, with their
// statuses and content types: the status and its classification always hold, whatever the body.
func FuzzParseErrorAnswers(f *testing.F) {
	for _, b := range fuzzKitFiles(f, "sap/samples", "error_*.json") {
		f.Add(400, "application/json", b)
	}
	f.Add(400, "application/json;charset=utf-8", []byte(`{"error":{"code":"V1/320","message":{"lang":"en","value":"Material X does not exist"},"innererror":{"errordetails":[{"code":"V1/320","message":"m","severity":"error"}]}}}`))
	f.Add(502, "text/html", []byte(`<html><head><title>502 Bad Gateway</title><style>p{}</style></head><body><h1>Bad&nbsp;Gateway</h1></body></html>`))
	f.Add(403, "text/plain", []byte("CSRF token validation failed"))
	f.Add(500, "application/xml", []byte(`<?xml version="1.0"?><error xmlns="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"><code>SY/530</code><message xml:lang="en">x</message></error>`))
	f.Add(404, "", []byte(nil))
	f.Add(400, "application/json", []byte(`{"error":{"code":7,"message":"flat"}}`))
	f.Fuzz(func(t *testing.T, status int, contentType string, body []byte) {
		if status < 100 || status > 999 {
			status = 500 // an HTTP status line has three digits
		}
		e := parseError(fuzzResponse(status, http.Header{"Content-Type": {contentType}}, body), body)
		if e == nil || e.StatusCode != status {
			t.Fatalf("parseError(%d) = %+v", status, e)
		}
		if msg := e.Error(); !strings.HasPrefix(msg, "SAP answered "+strconv.Itoa(status)) {
			t.Fatalf("Error() = %q", msg)
		}
		if errors.Is(e, ErrNotFound) != (status == http.StatusNotFound) || (e.BusinessError() && status != http.StatusBadRequest) {
			t.Fatalf("status %d classified as not-found %v, business error %v", status, errors.Is(e, ErrNotFound), e.BusinessError())
		}
	})
}

// FuzzRetryAfter reads Retry-After as SAP or a gateway sends it: never a negative wait, and whole seconds exact.
// A negative wait would turn a Retry-After longer than the client's limit (return the error) into a retry.
func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"120", "0", "-1", " 7 ", "1.5", "Fri, 31 Dec 1999 23:59:59 GMT", "Wed, 21 Oct 2099 07:28:00 GMT", "9223372037", "99999999999999999999", ""} {
		f.Add(s)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		d := retryAfter(http.Header{"Retry-After": {v}}, now)
		if d < 0 {
			t.Fatalf("Retry-After %q gives a negative wait %s", v, d)
		}
		if secs, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && secs >= 0 && secs < 1<<31 && d != time.Duration(secs)*time.Second {
			t.Fatalf("Retry-After %q gives %s", v, d)
		}
	})
}

// sapBatchSeed is an SAP $batch answer: a read, an applied changeset and a rolled-back one.
const sapBatchSeed = "--batch_1\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n" +
	"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"d\":{\"SalesOrder\":\"1\"}}\r\n" +
	"--batch_1\r\nContent-Type: multipart/mixed; boundary=changeset_2\r\n\r\n" +
	"--changeset_2\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n\r\n" +
	"--changeset_2\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\nHTTP/1.1 201 Created\r\nContent-Type: application/json\r\n\r\n{\"d\":{}}\r\n" +
	"--changeset_2--\r\n" +
	"--batch_1\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n" +
	"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n\r\n{\"error\":{\"code\":\"V1/320\",\"message\":{\"value\":\"x\"}}}\r\n" +
	"--batch_1--\r\n"

// FuzzParseBatchResponse reads $batch answers: every part's error is set exactly when its status is not 2xx.
func FuzzParseBatchResponse(f *testing.F) {
	f.Add("multipart/mixed; boundary=batch_1", []byte(sapBatchSeed))
	f.Add("multipart/mixed; boundary=batch_1", []byte(strings.ReplaceAll(sapBatchSeed, "\r\n", "\n")))
	f.Add("multipart/mixed; boundary=batch_1", []byte("--batch_1--\r\n"))
	f.Add("application/json", []byte(`{"error":{}}`))
	// The kit's Dataverse $batch answers are the same multipart framing with other bodies.
	for _, b := range fuzzKitFiles(f, "dataverse/samples", "batch-*-response.http") {
		s := strings.ReplaceAll(string(b), "\r\n", "\n")
		if i := strings.Index(s, "\n--"); i >= 0 {
			s = s[i+1:]
			boundary := strings.TrimPrefix(strings.SplitN(s, "\n", 2)[0], "--")
			f.Add("multipart/mixed; boundary="+boundary, []byte(strings.ReplaceAll(s, "\n", "\r\n")))
		}
	}
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		results, err := parseBatchResponse(fuzzResponse(http.StatusAccepted, http.Header{"Content-Type": {contentType}}, body))
		if err != nil {
			return
		}
		for i, r := range results {
			failed := len(r.Responses) == 0
			for j, br := range r.Responses {
				ok := br.StatusCode >= 200 && br.StatusCode <= 299
				if (br.Err == nil) != ok || (br.Err != nil && br.Err.StatusCode != br.StatusCode) {
					t.Fatalf("part %d response %d: status %d, error %v", i, j, br.StatusCode, br.Err)
				}
				failed = failed || !ok
			}
			if r.Failed() != failed {
				t.Fatalf("part %d: Failed() = %v for %+v", i, r.Failed(), r.Responses)
			}
		}
	})
}

type fuzzTransport func(*http.Request) (*http.Response, error)

func (f fuzzTransport) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// FuzzOAuthToken reads token endpoint answers: a token is accepted only from a 200 with an access_token, it
// expires after it was fetched, and no error repeats the client secret.
func FuzzOAuthToken(f *testing.F) {
	f.Add(uint16(200), []byte(`{"access_token":"eyJhbGciOi","token_type":"bearer","expires_in":43199,"scope":"uaa.resource","jti":"x"}`))
	f.Add(uint16(200), []byte(`{"access_token":"t","expires_in":-5}`))
	f.Add(uint16(200), []byte(`{"access_token":"t","expires_in":9223372036854775807}`))
	f.Add(uint16(200), []byte(`{"access_token":"","expires_in":60}`))
	f.Add(uint16(200), []byte(`{"access_token":"t","expires_in":"60"}`))
	f.Add(uint16(401), []byte(`{"error":"unauthorized","error_description":"Bad credentials"}`))
	f.Add(uint16(500), []byte(`<html>down</html>`))
	const secret = "Zq9~client-secret"
	started := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, status uint16, body []byte) {
		code := 100 + int(status)%500
		ts := &tokenSource{
			hc: &http.Client{Transport: fuzzTransport(func(*http.Request) (*http.Response, error) {
				return fuzzResponse(code, http.Header{"Content-Type": {"application/json"}}, body), nil
			})},
			url: "https://auth.example.com/oauth/token", id: "client", secret: secret,
			log: slog.New(slog.DiscardHandler), now: func() time.Time { return started },
		}
		tok, exp, err := ts.fetch(context.Background())
		if err != nil {
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error repeats the client secret: %v", err)
			}
			return
		}
		if code != http.StatusOK || tok == "" || !exp.After(started) {
			t.Fatalf("status %d gave token %q expiring %s (fetched %s)", code, tok, exp, started)
		}
	})
}
