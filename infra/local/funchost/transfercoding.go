package funchost

import (
	"bytes"
	"net"
)

// Go's server answers a request whose Transfer-Encoding is anything but "chunked" with 501 before any handler
// runs, written straight to the connection. Kestrel answers 400 when the final coding is not chunked (the body's
// length cannot be known: RFC 9112 6.3) and reads the body as chunked when it is ("gzip, chunked"), which the host
// then passes on empty, as every chunked body, for the handler's 411. Either way the caller hears a 4xx and never a
// 5xx: the stand-in answers all of them 400, so that no test mistakes Go's 501 for one of the app's answers.
var (
	goUnsupportedTE = []byte("HTTP/1.1 501 Not Implemented\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\nUnsupported transfer encoding")
	kestrelBadTE    = []byte("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n" +
		"The message body length cannot be determined because the final transfer coding was not chunked.")
)

// kestrelListener hands out connections that answer as Kestrel where Go's server would not.
type kestrelListener struct{ net.Listener }

func (l kestrelListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return kestrelConn{c}, nil
}

type kestrelConn struct{ net.Conn }

// Write passes everything on but Go's one-piece 501 for a transfer coding, which it replaces whole: Go writes it
// in a single call, and no handler's answer is those exact bytes.
func (c kestrelConn) Write(p []byte) (int, error) {
	if bytes.Equal(p, goUnsupportedTE) {
		if _, err := c.Conn.Write(kestrelBadTE); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// CloseWrite half-closes as the TCP connection does: Go's server closes the write side first when it hangs up on
// a request it has not read, so the client reads the answer instead of a reset.
func (c kestrelConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
