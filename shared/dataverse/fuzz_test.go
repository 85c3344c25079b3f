package dataverse

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/d365sap/d365sap/infra/local/kit"
)

// Everything Dataverse (or Entra ID) answers is outside input: rows, pages and their links, change-tracking
// deltas, error bodies and their Retry-After, $batch answers and token answers. None of it may panic the client,
// and a link in an answer must never send the token anywhere but the org.

const fuzzOrg = "https://org.example.com"

// fuzzKitSample reads one of the kit's Dataverse samples, with the docs' placeholder org replaced by fuzzOrg so
// links in it are followable. Without the kit the target skips locally and fails in CI.
func fuzzKitSample(f *testing.F, name string) []byte {
	f.Helper()
	b, err := os.ReadFile(filepath.Join(kit.Dir(f, "dataverse/samples"), "dataverse", "samples", name))
	if err != nil {
		f.Fatalf("reading the kit's sample %s: %v", name, err)
	}
	return bytes.ReplaceAll(b, []byte("[Organization URI]"), []byte(fuzzOrg))
}

type fuzzTokens struct{}

func (fuzzTokens) Token(context.Context) (string, time.Time, error) {
	return "fuzz-token", time.Now().Add(time.Hour), nil
}

// fuzzServer answers the first request with the fuzzed page and every later one with last, and records every
// request that would have carried the token off the org.
type fuzzServer struct {
	mu       sync.Mutex
	first    []byte
	last     string
	requests int
	strays   []string
}

func (s *fuzzServer) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	if r.URL.Scheme != "https" || r.URL.Host != "org.example.com" || !strings.HasPrefix(r.URL.Path, "/api/data/") {
		s.strays = append(s.strays, r.URL.String())
	}
	body := []byte(s.last)
	if s.requests == 1 {
		body = s.first
	}
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(body)), Request: r}, nil
}

func fuzzDataverse(t *testing.T, first []byte, last string) (*Client, *fuzzServer) {
	t.Helper()
	srv := &fuzzServer{first: first, last: last}
	c, err := New(Options{URL: fuzzOrg, Tokens: fuzzTokens{}, HTTPClient: &http.Client{Transport: srv}, MaxRetries: 0, PageSize: 2,
		Timeout: 30 * time.Second, MaxConcurrency: 4, InitialConcurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	return c, srv
}

// onOrg is the rule for links in answers, written independently of sameOrg: https, the org's host, the Web API.
func onOrg(link string) bool {
	u, err := url.Parse(link)
	return err == nil && u.Scheme == "https" && u.Host == "org.example.com" && strings.HasPrefix(u.Path, "/api/data/")
}

// fuzzPage is the page as the docs describe it, decoded independently of the client.
type fuzzPage struct {
	Value     []map[string]any `json:"value"`
	NextLink  string           `json:"@odata.nextLink"`
	DeltaLink string           `json:"@odata.deltaLink"`
}

func decodeFuzzPage(b []byte) (fuzzPage, bool) {
	var p fuzzPage
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return p, dec.Decode(&p) == nil
}

// FuzzPages reads a page as List and as Changes do: every row of the page is yielded once, a next link is
// followed only on the org, and a change-tracking page gives deletions and the delta link exactly as sent.
func FuzzPages(f *testing.F) {
	for _, name := range []string{"paging-maxpagesize-response.json", "change-tracking-initial-response.json", "change-tracking-delta-response.json"} {
		f.Add(fuzzKitSample(f, name))
	}
	for _, s := range []string{`{"value":[]}`, `{"value":null,"@odata.nextLink":"https://org.example.com/api/data/v9.2/accounts?$skiptoken=x"}`,
		`{"value":[{}],"@odata.nextLink":"https://evil.example.com/api/data/v9.2/accounts"}`,
		`{"value":[{"@odata.context":"https://org.example.com/api/data/v9.2/$metadata#accounts/$deletedEntity","id":"1","reason":"deleted"}],"@odata.deltaLink":"x"}`,
		`{"value":[{"@odata.context":7}],"@odata.deltaLink":""}`, `{"value":[1]}`, `[]`, `{"value":[{"n":1e400}]}`, ``} {
		f.Add([]byte(s))
	}
	const end = `{"value":[],"@odata.deltaLink":"https://org.example.com/api/data/v9.2/accounts?$deltatoken=end"}`
	f.Fuzz(func(t *testing.T, body []byte) {
		p, ok := decodeFuzzPage(body)
		follows := ok && p.NextLink != "" && onOrg(p.NextLink)

		c, srv := fuzzDataverse(t, body, end)
		rows, failed := 0, false
		for _, err := range c.List(context.Background(), "accounts", nil) {
			if err != nil {
				failed = true
				break
			}
			rows++
		}
		if wantFail := !ok || (p.NextLink != "" && !follows); failed != wantFail || (!failed && rows != len(p.Value)) {
			t.Fatalf("List: %d rows, failed %v; the page has %d rows (decodes: %v), next link %q", rows, failed, len(p.Value), ok, p.NextLink)
		}
		if len(srv.strays) > 0 {
			t.Fatalf("List sent the token off the org: %q", srv.strays)
		}

		c, srv = fuzzDataverse(t, body, end)
		var changes []Change
		delta, err := c.Changes(context.Background(), "accounts", nil, func(ch Change) error { changes = append(changes, ch); return nil })
		if len(srv.strays) > 0 {
			t.Fatalf("Changes sent the token off the org: %q", srv.strays)
		}
		switch {
		case !ok || (p.NextLink != "" && !follows) || (p.NextLink == "" && p.DeltaLink == ""):
			if err == nil {
				t.Fatalf("Changes accepted a page it cannot finish from: %+v", p)
			}
			return
		case err != nil:
			t.Fatalf("Changes: %v", err)
		case follows && delta != "https://org.example.com/api/data/v9.2/accounts?$deltatoken=end", !follows && delta != p.DeltaLink:
			t.Fatalf("Changes returned delta link %q for page %+v", delta, p)
		}
		if len(changes) != len(p.Value) {
			t.Fatalf("%d changes for %d rows", len(changes), len(p.Value))
		}
		for i, ch := range changes {
			ctxt, _ := p.Value[i]["@odata.context"].(string)
			if ch.Deleted != strings.HasSuffix(ctxt, "/$deletedEntity") {
				t.Fatalf("row %d (%v) read as deleted=%v", i, p.Value[i], ch.Deleted)
			}
			if id, _ := p.Value[i]["id"].(string); ch.Deleted && ch.ID != id {
				t.Fatalf("deletion %d has id %q, the row says %q", i, ch.ID, id)
			}
		}
	})
}

// noFloats reports the first number in v that is not a json.Number: Record promises numbers stay exact.
func noFloats(v any) (any, bool) {
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			if bad, ok := noFloats(e); !ok {
				return bad, false
			}
		}
	case []any:
		for _, e := range x {
			if bad, ok := noFloats(e); !ok {
				return bad, false
			}
		}
	case float64, float32, int, int64:
		return x, false
	}
	return nil, true
}

// FuzzRecord reads one row as Retrieve does: numbers stay json.Number at any depth, and the accessors the
// functions use on expanded rows never panic, whatever types the columns hold.
func FuzzRecord(f *testing.F) {
	f.Add(fuzzKitSample(f, "salesorder-create-deep-insert.constructed.json"))
	for _, s := range []string{`{"@odata.etag":"W/\"1\"","totalamount":24.25,"order_details":[{"quantity":1.5,"productid":{"productnumber":"P"}}]}`,
		`{"order_details":{"a":1},"customerid_account":[1],"paymenttermscode":"1"}`, `{"order_details":[1,"x",null,{}]}`, `null`, `{"n":123456789012345678901234567890}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c, _ := fuzzDataverse(t, body, `{}`)
		rec, err := c.Retrieve(context.Background(), "salesorders", ID("00000000-0000-0000-0000-000000000001"), nil)
		if err != nil {
			return
		}
		if bad, ok := noFloats(map[string]any(rec)); !ok {
			t.Fatalf("a number decoded as %T (%v), not json.Number", bad, bad)
		}
		_, _, _ = rec.ETag(), rec.Number("totalamount"), rec.Bool("x")
		for _, l := range rec.Records("order_details") {
			_ = l.Record("productid").String("productnumber") + string(l.Number("quantity"))
		}
		_ = rec.Record("customerid_account").String("accountnumber")
	})
}

// FuzzNewError reads error answers: the status is kept, the body's code and message are taken when it is
// Dataverse's error JSON (and a short excerpt otherwise), Retry-After never gives a negative wait, and the retry
// decision follows the status alone, except that an expired change token is never retried.
func FuzzNewError(f *testing.F) {
	for _, name := range []string{"error-404-upsert-prevent-create.json", "error-412-etag-mismatch.json", "error-412-upsert-prevent-update.json",
		"error-plugin-annotations.json", "error-validation-in-batch.json", "change-tracking-expired.constructed.json"} {
		f.Add(uint16(12), "", "", fuzzKitSample(f, name))
	}
	f.Add(uint16(29), "", "7", []byte(`{"error":{"code":"0x80072322","message":"Number of requests exceeded the limit of 6000 over time window of 300 seconds."}}`))
	f.Add(uint16(12), "*", "", []byte(`{"error":{"code":"","message":"A record with matching key values already exists."}}`))
	f.Add(uint16(12), `W/"1"`, "0.25", []byte(`{"error":{"code":"0x80060882","message":"x"}}`))
	f.Add(uint16(103), "", "Wed, 21 Oct 2099 07:28:00 GMT", []byte("<html>Service Unavailable</html>"))
	f.Add(uint16(100), "", "1e10", []byte(nil))
	f.Add(uint16(0), "", "-1", []byte(`{"error":{"code":7}}`))
	f.Fuzz(func(t *testing.T, status uint16, ifMatch, retryAfter string, body []byte) {
		st := 400 + int(status)%200 // 4xx and 5xx: the statuses newError is called for
		req := http.Header{}
		if ifMatch != "" {
			req.Set("If-Match", ifMatch)
		}
		h := http.Header{}
		if retryAfter != "" {
			h.Set("Retry-After", retryAfter)
		}
		e := newError(http.MethodPatch, "accounts(1)", st, h, body, conditionOf(req))
		if e.Status != st || e.Error() == "" || e.Kind.String() == "" {
			t.Fatalf("newError(%d) = %+v", st, e)
		}
		if e.RetryAfter < 0 {
			t.Fatalf("Retry-After %q gives a negative wait %s", retryAfter, e.RetryAfter)
		}
		var eb struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(body, &eb) == nil && (eb.Error.Code != "" || eb.Error.Message != "") {
			if e.Code != eb.Error.Code || e.Message != eb.Error.Message {
				t.Fatalf("body says %q %q, error has %q %q", eb.Error.Code, eb.Error.Message, e.Code, e.Message)
			}
		} else if len(e.Message) > 200 || (e.Message == "" && http.StatusText(st) != "") {
			t.Fatalf("excerpt %q of a body that is not Dataverse's error JSON", e.Message)
		}
		expired := e.Code == CodeExpiredVersionStamp
		if want := !expired && (st == http.StatusTooManyRequests || st >= 500); e.Retryable() != want {
			t.Fatalf("status %d code %q: Retryable() = %v", st, e.Code, e.Retryable())
		}
		if errors.Is(e, ErrChangeTokenExpired) != expired {
			t.Fatalf("code %q: errors.Is(ErrChangeTokenExpired) = %v", e.Code, !expired)
		}
		if st == http.StatusPreconditionFailed && !expired && e.Kind != KindConcurrency && e.Kind != KindDuplicate {
			t.Fatalf("412 read as %s", e.Kind)
		}
	})
}

// fuzzBatches are the batch shapes the decoder maps answers onto: single operations, a changeset with a read
// after it (as the kit's changeset sample), and a mix.
func fuzzBatch(shape uint8) *Batch {
	create := func(id string) Op { return CreateOp("tasks", Record{"subject": "x"}).WithContentID(id) }
	switch shape % 4 {
	case 0:
		return (&Batch{}).Add(create(""), create(""), create(""))
	case 1:
		return (&Batch{}).ChangeSet(create("1"), create("2"), create("3")).Add(GetOp("tasks", ID("00000000-0000-0000-0000-000000000001"), nil))
	case 2:
		return (&Batch{}).ChangeSet(create("1"))
	default:
		return (&Batch{}).Add(create("")).ChangeSet(create("1"), create("2")).Add(create(""))
	}
}

// FuzzDecodeBatch maps $batch answers onto operations: one result per operation whenever the answer reads at
// all, and a result without an error never carries a failing status.
func FuzzDecodeBatch(f *testing.F) {
	for shape, name := range map[uint8]string{0: "batch-continue-on-error-response.http", 4: "batch-stop-on-error-response.http", 1: "batch-changeset-response.http"} {
		body, boundary := batchBody(fuzzKitSample(f, name))
		f.Add(shape, boundary, body)
		f.Add(shape+2, boundary, body) // the same answer mapped onto a batch of another shape
	}
	f.Add(uint8(2), "b", []byte("--b\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 412 Precondition Failed\r\n\r\n{\"error\":{\"code\":\"0x80040237\",\"message\":\"dup\"}}\r\n--b--\r\n"))
	f.Add(uint8(0), "b", []byte("--b\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 200 OK\r\n\r\n[1,2]\r\n--b--\r\n"))
	f.Add(uint8(3), "", []byte(""))
	f.Fuzz(func(t *testing.T, shape uint8, boundary string, body []byte) {
		b := fuzzBatch(shape)
		results, err := decodeBatch(b, body, boundary)
		if err != nil {
			return
		}
		if len(results) != b.Len() {
			t.Fatalf("%d results for %d operations", len(results), b.Len())
		}
		for i, r := range results {
			if r.Err == nil && r.Status >= 400 {
				t.Fatalf("result %d has status %d and no error", i, r.Status)
			}
			if errors.Is(r.Err, ErrNotRun) && r.Status != 0 {
				t.Fatalf("result %d was not run but has status %d", i, r.Status)
			}
		}
	})
}

// FuzzEntraToken reads Entra ID token answers: a token only from a 200 that names a bearer token, a
// *TokenError with the status for any other answer, and no error repeats the client secret unless the endpoint
// itself wrote it.
func FuzzEntraToken(f *testing.F) {
	f.Add(uint16(100), fuzzKitSample(f, "entra-token-response.json"))
	f.Add(uint16(0), fuzzKitSample(f, "entra-token-error-response.json"))
	f.Add(uint16(100), []byte(`{"token_type":"pop","access_token":"x","expires_in":60}`))
	f.Add(uint16(100), []byte(`{"token_type":"Bearer","access_token":"","expires_in":60}`))
	f.Add(uint16(1), []byte(`<html>AADSTS</html>`))
	const secret = "Zq9~client-secret"
	f.Fuzz(func(t *testing.T, status uint16, body []byte) {
		code := 100 + int(status)%500
		src := &ClientSecretSource{AuthorityHost: "https://login.example.com", TenantID: "tenant", ClientID: "client",
			ClientSecret: secret, Scope: fuzzOrg + "/.default",
			HTTPClient: &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
				return &http.Response{StatusCode: code, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(body)), Request: r}, nil
			})}}
		tok, _, err := src.Token(context.Background())
		if err != nil {
			var te *TokenError
			if code != http.StatusOK && (!errors.As(err, &te) || te.Status != code) {
				t.Fatalf("status %d gave %v, want a *TokenError with the status", code, err)
			}
			if strings.Contains(err.Error(), secret) && !bytes.Contains(body, []byte(secret)) {
				t.Fatalf("error repeats the client secret: %v", err)
			}
			return
		}
		if code != http.StatusOK || tok == "" {
			t.Fatalf("status %d gave token %q", code, tok)
		}
	})
}
