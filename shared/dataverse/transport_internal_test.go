package dataverse

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// roundTripFunc is a func-field fake transport.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestDropAffinity(t *testing.T) {
	var sent string
	next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		sent = r.Header.Get("Cookie")
		h := http.Header{}
		h.Add("Set-Cookie", "ARRAffinity=abc; Path=/")
		h.Add("Set-Cookie", "ARRAffinitySameSite=abc; Path=/")
		h.Add("Set-Cookie", "other=1")
		return &http.Response{StatusCode: 200, Header: h, Body: http.NoBody}, nil
	})
	tests := []struct{ in, want string }{
		{"ARRAffinity=abc; other=1", "other=1"},
		{"ARRAffinity=abc", ""},
		{"other=1", "other=1"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			req, _ := http.NewRequest("GET", "http://x/", nil)
			req.Header.Set("Cookie", tt.in)
			resp, err := dropAffinity{next: next}.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			if sent != tt.want {
				t.Errorf("sent Cookie %q; want %q", sent, tt.want)
			}
			if got := resp.Header.Values("Set-Cookie"); len(got) != 1 || got[0] != "other=1" {
				t.Errorf("Set-Cookie = %v", got)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{{"5", "5s"}, {"0.25", "250ms"}, {"", "0s"}, {"junk", "0s"}}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in).String(); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %s; want %s", tt.in, got, tt.want)
		}
	}
}

type staticTokens struct{}

func (staticTokens) Token(context.Context) (string, time.Time, error) {
	return "tok", time.Now().Add(time.Hour), nil
}

// Actions go to the right URL: unbound, bound to a table, bound to a row.
func TestActionPaths(t *testing.T) {
	var got []string
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		got = append(got, r.Method+" "+r.URL.EscapedPath())
		if r.Header.Get("Authorization") != "Bearer tok" {
			t.Errorf("Authorization = %q", r.Header.Get("Authorization"))
		}
		return &http.Response{StatusCode: 204, Header: http.Header{}, Body: http.NoBody}, nil
	})
	o := internalOptions()
	o.HTTPClient = &http.Client{Transport: rt}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	key := ID("00000000-0000-0000-0000-000000000001")
	tests := []struct {
		name string
		o    *ActionOptions
		want string
	}{
		{"unbound", nil, "POST /api/data/v9.2/FulfillSalesOrder"},
		{"table", &ActionOptions{Set: "products"}, "POST /api/data/v9.2/products/Microsoft.Dynamics.CRM.FulfillSalesOrder"},
		{"row", &ActionOptions{Set: "salesorders", Key: &key}, "POST /api/data/v9.2/salesorders(00000000-0000-0000-0000-000000000001)/Microsoft.Dynamics.CRM.FulfillSalesOrder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got = nil
			if _, err := c.Action(context.Background(), "FulfillSalesOrder", map[string]any{"Status": 100001}, tt.o); err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0] != tt.want {
				t.Errorf("requests = %v; want %s", got, tt.want)
			}
		})
	}
}

func TestEscapePath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"accounts(accountnumber='A 1')", "accounts(accountnumber='A%201')"},
		{"accounts(name='O''Hara #2')", "accounts(name='O''Hara%20%232')"},
		{"products/Microsoft.Dynamics.CRM.UpsertMultiple", "products/Microsoft.Dynamics.CRM.UpsertMultiple"},
		{"accounts(accountnumber='Müller')", "accounts(accountnumber='M%C3%BCller')"},
	}
	for _, tt := range tests {
		if got := escapePath(tt.in); got != tt.want {
			t.Errorf("escapePath(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestEncodeQuery(t *testing.T) {
	q := url.Values{"$select": {"name,accountnumber"}, "$filter": {"name eq 'A&B + C#1'"}}
	want := "$filter=name%20eq%20'A%26B%20%2B%20C%231'&$select=name,accountnumber"
	if got := encodeQuery(q); got != want {
		t.Errorf("encodeQuery = %q; want %q", got, want)
	}
	back, err := url.ParseQuery(want)
	if err != nil || back.Get("$filter") != "name eq 'A&B + C#1'" {
		t.Errorf("round trip = %v, %v", back, err)
	}
}

func TestLinksMustStayOnTheOrg(t *testing.T) {
	c, err := New(internalOptions())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		link string
		ok   bool
	}{
		{"https://org.crm4.dynamics.com/api/data/v9.2/accounts?$skiptoken=x", true},
		{"https://org.crm4.dynamics.com/api/data/v9.0/accounts?$deltatoken=1", true},
		{"https://evil.example.com/api/data/v9.2/accounts", false},
		{"http://org.crm4.dynamics.com/api/data/v9.2/accounts", false},
		{"https://org.crm4.dynamics.com/other", false},
	}
	for _, tt := range tests {
		if got := c.sameOrg(tt.link); got != tt.ok {
			t.Errorf("sameOrg(%q) = %v; want %v", tt.link, got, tt.ok)
		}
	}
}

// internalOptions is a complete Options for a client that never reaches a network, with test values.
func internalOptions() Options {
	return Options{URL: "https://org.crm4.dynamics.com", Tokens: staticTokens{}, Timeout: 30 * time.Second,
		MaxConcurrency: HardMaxConcurrency, InitialConcurrency: 4, MaxRetries: 8, PageSize: 5000}
}
