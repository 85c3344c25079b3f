package hostile

import (
	"net/http"
	"strings"
)

// protocolCases: framing and request lines no client library would send. The host answers each of them itself
// (the function never runs) with a 4xx, or reads them as the request they spell: an absolute target, HTTP/1.0, a
// minor version it does not know. (A request line of HTTP/2.0 is left out: Kestrel and Go's server both answer it
// 505 HTTP Version Not Supported, the protocol's own answer, which is the host's and not the app's.)
func protocolCases(w *world) []hcase {
	// te frames {} as one chunk under a Transfer-Encoding of v.
	te := func(v string) request {
		r := w.post("2\r\n{}\r\n0\r\n\r\n").with("Transfer-Encoding", v)
		r.framed = true
		return r
	}
	// cl sends {} under a Content-Length of v.
	cl := func(v string) request {
		r := w.post(`{}`).with("Content-Length", v)
		r.framed = true
		return r
	}
	// version is GET /api/health under another protocol version.
	version := func(v string) request {
		r := anon(http.MethodGet, "/api/health")
		r.proto = v
		return r
	}
	refused := byHost(http.StatusBadRequest)
	health := want{status: http.StatusOK, check: healthReport}
	c := func(cl class, name string, r request, wt want) hcase {
		return hcase{class: cl, name: name, req: r, want: wt}
	}
	return []hcase{
		c(encodings, "Transfer-Encoding gzip, chunked", te("gzip, chunked"), refused),
		c(encodings, "Transfer-Encoding identity", te("identity"), refused),
		c(encodings, "Transfer-Encoding chunked, chunked", te("chunked, chunked"), refused),
		c(encodings, "Transfer-Encoding of an unknown coding", te("xyz"), refused),
		c(encodings, "Transfer-Encoding Chunked", te("Chunked"), want{status: http.StatusLengthRequired, kind: "length-required"}),
		c(encodings, "Content-Length -1", cl("-1"), refused),
		c(encodings, "Content-Length +2", cl("+2"), refused),
		c(encodings, "Content-Length 1e3", cl("1e3"), refused),
		c(encodings, "Content-Length past int64", cl("99999999999999999999"), refused),
		c(encodings, "Content-Length 2, 2", cl("2, 2"), refused),
		c(encodings, "Content-Length in hex", cl("0x2"), refused),
		c(methods, "CONNECT /api/orders", w.keyed("CONNECT", "/api/orders"), byHost(http.StatusNotFound)),
		c(methods, "an unknown method", w.keyed("FROB", "/api/orders"), byHost(http.StatusNotFound)),
		c(methods, "a method of 200 letters", w.keyed(strings.Repeat("A", 200), "/api/orders"), byHost(http.StatusNotFound)),
		c(methods, "a method that is not a token", w.keyed("PO(ST", "/api/orders"), refused),
		// Go's server answers OPTIONS * itself, with an empty 200, as the host's Kestrel passes it to no function.
		c(methods, "OPTIONS *", w.keyed(http.MethodOptions, "*"), byHost(http.StatusOK)),
		c(ids, "an absolute target on another host", anon(http.MethodGet, "http://evil.example/api/health"), health),
		c(ids, "a target without its slash", anon(http.MethodGet, "api/health"), refused),
		c(ids, "a target with a fragment", anon(http.MethodGet, "/api/health#x"), byHost(http.StatusNotFound)),
		c(ids, "a target with a space", anon(http.MethodGet, "/api/he alth"), refused),
		c(ids, "a target with a raw tab", anon(http.MethodGet, "/api/he\talth"), refused),
		c(ids, "HTTP/1.0", version("HTTP/1.0"), health),
		c(ids, "HTTP/1.0 without Host", version("HTTP/1.0").hostless(), health),
		c(ids, "HTTP/1.2", version("HTTP/1.2"), health),
		c(ids, "HTTP/3", version("HTTP/3"), refused),
		c(ids, "HTTPS/1.1", version("HTTPS/1.1"), refused),
		c(ids, "http/1.1 in lower case", version("http/1.1"), refused),
	}
}
