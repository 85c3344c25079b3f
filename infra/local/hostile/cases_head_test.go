package hostile

import (
	"fmt"
	"net/http"
	"strings"
)

// headCases: request lines and header fields at and over the host's limits (Kestrel's: an 8 KiB request line,
// 100 field lines, 32 KiB of them), on every route. Within them the function runs; over them the host answers
// 414 or 431 and the function never sees the request, however its body looks.
func headCases(w *world) []hcase {
	routes := []struct {
		name string
		r    request
		ok   want // the answer within the limits
	}{
		{"push", w.post(`{}`), invalid("salesorderid")},
		{"status", w.keyed(http.MethodGet, "/api/orders/"+w.done), want{status: http.StatusOK, check: statusOf(w.done, "written-back")}},
		{"health", anon(http.MethodGet, "/api/health"), want{status: http.StatusOK, check: healthReport}},
	}
	// query pads the target to a request line of n bytes ("GET " or "POST ", the target, " HTTP/1.1\r\n").
	query := func(r request, n int) request {
		sep := "?"
		if strings.Contains(r.target, "?") {
			sep = "&"
		}
		pad := n - len(r.method) - len(" ") - len(r.target) - len(sep+"x=") - len(" HTTP/1.1\r\n")
		return r.at(r.target + sep + "x=" + strings.Repeat("q", pad))
	}
	// fields adds header fields until the request has n field lines (Host, the key, Content-Type and
	// Connection: close included).
	fields := func(r request, n int) request {
		have := 2 + len(r.header) // Host and Connection
		if r.body != nil {
			have++ // Content-Length
		}
		for i := have; i < n; i++ {
			r = r.with(fmt.Sprintf("X-F%d", i), "v")
		}
		return r
	}
	tooLong := byHost(http.StatusRequestURITooLong)
	tooMany := byHost(http.StatusRequestHeaderFieldsTooLarge)
	var out []hcase
	for _, rt := range routes {
		c := func(name string, r request, wt want) hcase {
			return hcase{class: sizes, name: rt.name + " with " + name, req: r, want: wt}
		}
		out = append(out,
			c("a request line of 8 KiB", query(rt.r, 8<<10), rt.ok),
			c("a request line of 8 KiB and a byte", query(rt.r.bodiless(), 8<<10+1), tooLong),
			c("a 512 KiB query", query(rt.r.bodiless(), 512<<10), tooLong),
			c("100 header fields", fields(rt.r, 100), rt.ok),
			c("101 header fields", fields(rt.r.bodiless(), 101), tooMany),
		)
	}
	// Many parameters within the line: the host passes them, the function reads none of them.
	out = append(out, hcase{class: sizes, name: "push with 1,500 query parameters", req: w.post(`{}`).at("/api/orders?" + strings.TrimPrefix(strings.Repeat("&a=1", 1500), "&")),
		want: invalid("salesorderid")})
	return out
}
