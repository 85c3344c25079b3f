package dataverse

import (
	"net/http"
	"testing"
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
