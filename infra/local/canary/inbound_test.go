package canary_test

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/d365sap/d365sap/infra/local/canary"
)

// inbound stands in front of a simulator and searches every request it receives (request line, headers, body)
// for the secrets that are not the system's: its own credential reaches it by right, any other is a leak, as a
// Dataverse secret sent to SAP would be.
type inbound struct {
	next     http.Handler
	scan     atomic.Pointer[canary.Scan] // set by the world before the app starts
	requests atomic.Int64
}

func (in *inbound) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s := in.scan.Load(); s != nil {
		in.requests.Add(1)
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s\n", r.Method, r.URL.RequestURI())
		for _, k := range slices.Sorted(maps.Keys(r.Header)) {
			for _, v := range r.Header[k] {
				fmt.Fprintf(&b, "%s: %s\n", k, v)
			}
		}
		b.WriteString("\n")
		b.Write(body)
		s.Check("request", r.Method+" "+r.URL.Path, []byte(b.String()))
	}
	in.next.ServeHTTP(w, r)
}
