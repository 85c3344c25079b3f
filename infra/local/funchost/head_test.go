package funchost

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// The head limits are Kestrel's defaults, counted as Kestrel counts them: the request line with its CRLF, and
// every field line (Host among them) with ": " and its CRLF.
func TestHeadRefusalFollowsKestrelsLimits(t *testing.T) {
	get := func(target string, h http.Header) *http.Request {
		return &http.Request{Method: http.MethodGet, RequestURI: target, Proto: "HTTP/1.1", Host: "h", Header: h}
	}
	line := func(n int) string { // a target making a request line of exactly n bytes
		return "/" + strings.Repeat("a", n-len("GET / HTTP/1.1\r\n"))
	}
	fields := func(n int) http.Header {
		h := http.Header{}
		for i := range n {
			h.Add(fmt.Sprintf("X-%d", i), "v")
		}
		return h
	}
	// Host: h takes 9 bytes; one more field of 32 KiB - 9 bytes fills the limit exactly.
	filler := func(total int) http.Header {
		return http.Header{"X": {strings.Repeat("v", total-len("Host: h\r\n")-len("X: \r\n"))}}
	}
	tests := []struct {
		name string
		r    *http.Request
		want int
	}{
		{"a plain request", get("/api/health", http.Header{"Accept": {"*/*"}}), 0},
		{"a request line of 8 KiB", get(line(8<<10), nil), 0},
		{"a request line one byte over 8 KiB", get(line(8<<10+1), nil), http.StatusRequestURITooLong},
		{"a 16 KiB query", get("/api/orders?x="+strings.Repeat("q", 16<<10), nil), http.StatusRequestURITooLong},
		{"100 field lines with Host", get("/", fields(99)), 0},
		{"101 field lines with Host", get("/", fields(100)), http.StatusRequestHeaderFieldsTooLarge},
		{"a field given 101 times", get("/", http.Header{"X": make([]string, 101)}), http.StatusRequestHeaderFieldsTooLarge},
		{"fields of 32 KiB", get("/", filler(32<<10)), 0},
		{"fields one byte over 32 KiB", get("/", filler(32<<10+1)), http.StatusRequestHeaderFieldsTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := headRefusal(tt.r); got != tt.want {
				t.Errorf("headRefusal = %d, want %d", got, tt.want)
			}
		})
	}
}
