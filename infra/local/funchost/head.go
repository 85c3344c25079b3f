package funchost

import "net/http"

// Kestrel's limits on a request's head, which the Functions host keeps at their defaults (KestrelServerLimits):
// the handler counts on them (shared/azfunc sizes an invocation by the body limit plus 32 KiB of head), so the
// stand-in refuses what the host would, before routing, and a long URL cannot pass for a large body.
const (
	maxRequestLine    = 8 << 10  // MaxRequestLineSize: method, target and version, with the CRLF
	maxHeaderCount    = 100      // MaxRequestHeaderCount: field lines, Host and repeats included
	maxHeadersTotal   = 32 << 10 // MaxRequestHeadersTotalSize: every field line, with ": " and the CRLF
	headerLineOverrun = len(": \r\n")
)

// headRefusal is the status Kestrel answers a request's head with when it is over a limit (414 for the request
// line, 431 for the fields), or 0 when it is within them.
func headRefusal(r *http.Request) int {
	if len(r.Method)+1+len(r.RequestURI)+1+len(r.Proto)+2 > maxRequestLine {
		return http.StatusRequestURITooLong
	}
	count, size := 0, 0
	if r.Host != "" {
		count, size = 1, len("Host")+len(r.Host)+headerLineOverrun
	}
	for name, values := range r.Header {
		for _, v := range values {
			count++
			size += len(name) + len(v) + headerLineOverrun
		}
	}
	if count > maxHeaderCount || size > maxHeadersTotal {
		return http.StatusRequestHeaderFieldsTooLarge
	}
	return 0
}
