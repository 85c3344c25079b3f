package funchost

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// A transfer coding Go's server does not take is a 400, as Kestrel answers most of them, never Go's 501; chunked is
// read as before, and the connection still half-closes (CloseWrite) as a TCP connection does.
func TestTransferCodingsAreAnsweredAsKestrelDoes(t *testing.T) {
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		io.WriteString(w, "read "+string(body))
	})}
	go srv.Serve(kestrelListener{tcp})
	t.Cleanup(func() { srv.Close() })
	tests := []struct {
		name, te string
		status   int
		body     string
	}{
		{"chunked", "chunked", http.StatusOK, "read {}"},
		{"Chunked", "Chunked", http.StatusOK, "read {}"},
		{"gzip, chunked", "gzip, chunked", http.StatusBadRequest, "final transfer coding was not chunked"},
		{"identity", "identity", http.StatusBadRequest, "final transfer coding was not chunked"},
		{"chunked, chunked", "chunked, chunked", http.StatusBadRequest, "final transfer coding was not chunked"},
		{"an unknown coding", "xyz", http.StatusBadRequest, "final transfer coding was not chunked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", tcp.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			io.WriteString(c, "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "+tt.te+"\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || !strings.Contains(string(b), tt.body) {
				t.Errorf("%d %q, want %d with %q", resp.StatusCode, b, tt.status, tt.body)
			}
		})
	}
	if _, ok := any(kestrelConn{}).(interface{ CloseWrite() error }); !ok {
		t.Error("kestrelConn cannot half-close")
	}
}
