package sap

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
)

// MaxResponseBytes bounds the memory one page takes, whatever length the answer declares: a Content-Length
// past the limit (a proxy's mistake, a misbehaving service, or a page that really is too large) is refused
// after at most the limit's bytes are buffered, not allocated in full before the first byte is read.
func TestAPageBufferStaysWithinMaxResponseBytes(t *testing.T) {
	const limit = 1 << 20
	page := `{"d":{"results":[]}}`
	// Made before the reads are measured: the server's allocations count in the same process.
	large := []byte(`{"d":{"results":[],"x":"` + strings.Repeat("x", 32<<20) + `"}}`)
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"declared length far past what is sent", func(w http.ResponseWriter, r *http.Request) {
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", 256<<20, page)
			buf.Flush()
		}},
		{"a page past the limit", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", fmt.Sprint(len(large)))
			w.Write(large)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := httptest.NewServer(tc.handler)
			t.Cleanup(ts.Close)
			o := basicOptions(ts.URL, "U", "P")
			o.MaxResponseBytes, o.ReadRetries = limit, 0
			c, err := New(o)
			if err != nil {
				t.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			var readErr error
			for _, err := range c.Stock(t.Context(), StockQuery{PageSize: 10}).All() {
				readErr = err
			}
			runtime.ReadMemStats(&after)
			if readErr == nil {
				t.Fatal("the oversized answer was read without an error")
			}
			if tc.name == "a page past the limit" && !errors.Is(readErr, ErrResponseTooLarge) {
				t.Errorf("error %v, want ErrResponseTooLarge", readErr)
			}
			// TotalAlloc counts the whole process (the transport, the race detector under -race): the bound
			// is loose, and still half of what sizing the buffer by the declared length allocates (32 MB).
			if got := after.TotalAlloc - before.TotalAlloc; got > 16*limit {
				t.Errorf("reading the page allocated %d MB with MaxResponseBytes %d MB (error %v)", got>>20, limit>>20, readErr)
			}
		})
	}
}
