package hostile

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// request is an HTTP/1.1 request as it goes on the wire, byte for byte: net/http's client would clean paths,
// merge or refuse headers and pick its own framing, which is exactly what a hostile caller does not do.
type request struct {
	method string
	target string  // the request target as sent, e.g. /api/orders?code=x
	header []field // in order, duplicates kept; Host is added unless present or noHost
	body   []byte
	// chunked sends the body as one chunk with Transfer-Encoding: chunked and no Content-Length.
	chunked bool
	// expect sends Expect: 100-continue and the body only after 100 Continue, as careful uploaders do; a server
	// that refuses the upload at once never has to read it.
	expect bool
	// length, when above zero, is the Content-Length sent instead of the body's (a body cut short); the write
	// side is closed after the body.
	length int
	noHost bool
	// framed says the header fields given frame the body (Content-Length, Transfer-Encoding) and the body is sent
	// as it is: nothing is added.
	framed bool
	// proto is the request line's version; HTTP/1.1 when empty.
	proto string
}

type field struct{ name, value string }

// with is the request with one more header field (after those it has).
func (r request) with(name, value string) request {
	r.header = append(append([]field(nil), r.header...), field{name, value})
	return r
}

// without is the request without any field of that name.
func (r request) without(name string) request {
	var h []field
	for _, f := range r.header {
		if !strings.EqualFold(f.name, name) {
			h = append(h, f)
		}
	}
	r.header = h
	return r
}

// set replaces every field of that name with one.
func (r request) set(name, value string) request { return r.without(name).with(name, value) }

func (r request) at(target string) request { r.target = target; return r }

func (r request) as(method string) request { r.method = method; return r }

func (r request) withBody(b string) request { r.body = []byte(b); return r }

// bodiless is the request without its body: for a head the host refuses, so that nothing is left unread when it
// closes the connection (which would end in a reset instead of its answer).
func (r request) bodiless() request { r.body = nil; return r }

// hostless is the request without the Host field HTTP/1.1 requires.
func (r request) hostless() request { r.noHost = true; return r }

// response is what came back, with the problem document when it is one.
type response struct {
	status  int
	header  http.Header
	body    []byte
	problem *problemDoc
	// reset says the connection was reset after the head: the body is what came before. Go's server answers a
	// head it cannot parse and closes without reading the rest, which the peer's TCP turns into a reset.
	reset bool
}

// problemDoc is an RFC 9457 answer with the members the app adds.
type problemDoc struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail"`
	Instance string `json:"instance"`
	Errors   []struct {
		Field  string `json:"field"`
		Reason string `json:"reason"`
	} `json:"errors"`
	StatusURL   string `json:"statusUrl"`
	SAPMessages []struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"sapMessages"`
}

// wire is the request's bytes: the head, and the body to send after it.
func (r request) wire(addr string) (head, body []byte) {
	var b bytes.Buffer
	proto := r.proto
	if proto == "" {
		proto = "HTTP/1.1"
	}
	fmt.Fprintf(&b, "%s %s %s\r\n", r.method, r.target, proto)
	hasHost := r.noHost
	for _, f := range r.header {
		hasHost = hasHost || strings.EqualFold(f.name, "Host")
	}
	if !hasHost {
		fmt.Fprintf(&b, "Host: %s\r\n", addr)
	}
	for _, f := range r.header {
		fmt.Fprintf(&b, "%s: %s\r\n", f.name, f.value)
	}
	switch {
	case r.framed:
		body = r.body
	case r.chunked:
		b.WriteString("Transfer-Encoding: chunked\r\n")
		var c bytes.Buffer
		if len(r.body) > 0 {
			fmt.Fprintf(&c, "%x\r\n%s\r\n", len(r.body), r.body)
		}
		c.WriteString("0\r\n\r\n")
		body = c.Bytes()
	case r.length > 0:
		fmt.Fprintf(&b, "Content-Length: %d\r\n", r.length)
		body = r.body
	case r.body != nil:
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(r.body))
		body = r.body
	}
	if r.expect {
		b.WriteString("Expect: 100-continue\r\n")
	}
	b.WriteString("Connection: close\r\n\r\n")
	return b.Bytes(), body
}

// send makes one request on a connection of its own and reads the whole answer.
func send(t *testing.T, addr string, r request) response {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("connecting to %s: %v", addr, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(90 * time.Second))
	head, body := r.wire(addr)
	br := bufio.NewReaderSize(conn, 64<<10)
	req := &http.Request{Method: r.method}
	if _, err := conn.Write(head); err != nil {
		t.Fatalf("writing the request head: %v", err)
	}
	if r.expect && len(body) > 0 {
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			t.Fatalf("reading the interim answer: %v", err)
		}
		if resp.StatusCode != http.StatusContinue {
			return readAnswer(t, resp)
		}
	}
	// The body goes while the answer is read: a server may answer (and close) before it has read it all.
	written := make(chan error, 1)
	go func() {
		_, err := conn.Write(body)
		if r.length > 0 {
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.CloseWrite()
			}
		}
		written <- err
	}()
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		t.Fatalf("reading the answer to %s %.80s: %v (writing: %v)", r.method, r.target, err, <-written)
	}
	return readAnswer(t, resp)
}

func readAnswer(t *testing.T, resp *http.Response) response {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	reset := errors.Is(err, syscall.ECONNRESET)
	if err != nil && !reset {
		t.Fatalf("reading the answer's body: %v", err)
	}
	out := response{status: resp.StatusCode, header: resp.Header, body: b, reset: reset}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
		var doc problemDoc
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("a problem+json answer that is not JSON: %v: %.300s", err, b)
		}
		out.problem = &doc
	}
	return out
}
