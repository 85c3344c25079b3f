// Package openapi is the openapi function: GET /api/openapi.json serves the Swagger 2.0 definition of the app's
// HTTP API, from which Power Automate (and Logic Apps, Power Apps) build a custom connector.
//
// The document is written by hand in openapi.json and embedded in the executable, so the served definition is
// always the one that was built and tested with the code.
package openapi

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/trigger"
)

//go:embed function.json
var functionJSON []byte

//go:embed openapi.json
var document []byte

// Document returns a copy of the embedded Swagger 2.0 document, without host.
func Document() []byte { return bytes.Clone(document) }

// Handler serves the openapi function.
type Handler struct {
	// Host is the app's public host name (the platform's WEBSITE_HOSTNAME, e.g. myapp.azurewebsites.net), written
	// into the document's host. Empty leaves host out, so importers use the host they fetched the document from.
	// It is never taken from the request: a forged Host header must not point a connector at another server.
	Host string

	once sync.Once
	body []byte
	etag string
	err  error
}

// Function declares the openapi function with its function.json. It prepares the document now, so a bad Host
// fails at start-up rather than on the first request.
func Function(h *Handler) (trigger.Function, error) {
	d, err := trigger.ParseDefinition(functionJSON)
	if err != nil {
		return trigger.Function{}, err
	}
	if err := h.prepare(); err != nil {
		return trigger.Function{}, err
	}
	return trigger.Function{Name: "openapi", Definition: d, HTTP: h}, nil
}

func (h *Handler) prepare() error {
	h.once.Do(func() {
		h.body, h.err = withHost(document, h.Host)
		if h.err == nil {
			sum := sha256.Sum256(h.body)
			h.etag = `"` + hex.EncodeToString(sum[:16]) + `"`
		}
	})
	return h.err
}

// withHost returns the document with host set, or unchanged (byte for byte) when host is empty.
func withHost(doc []byte, host string) ([]byte, error) {
	if host == "" {
		return bytes.Clone(doc), nil
	}
	if err := checkHost(host); err != nil {
		return nil, fmt.Errorf("setting the OpenAPI host: %w", err)
	}
	// A map of raw members keeps every value as written; only the member order becomes alphabetical.
	var members map[string]json.RawMessage
	if err := json.Unmarshal(doc, &members); err != nil {
		return nil, fmt.Errorf("parsing the embedded OpenAPI document: %w", err)
	}
	h, err := json.Marshal(host)
	if err != nil {
		return nil, fmt.Errorf("encoding the OpenAPI host: %w", err)
	}
	members["host"] = h
	out, err := json.MarshalIndent(members, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding the OpenAPI document: %w", err)
	}
	return append(out, '\n'), nil
}

// checkHost accepts what Swagger 2.0 allows in host: a name or address and an optional port, with no scheme,
// path, user info or query.
func checkHost(host string) error {
	name := host
	if strings.Contains(host, ":") && !strings.HasSuffix(host, "]") {
		h, port, err := net.SplitHostPort(host)
		if err != nil {
			return fmt.Errorf("host %q: %w", host, err)
		}
		if port == "" || strings.Trim(port, "0123456789") != "" {
			return fmt.Errorf("host %q: the port is not a number", host)
		}
		name = h
	}
	name = strings.TrimSuffix(strings.TrimPrefix(name, "["), "]")
	if name == "" {
		return errors.New("host is empty")
	}
	if net.ParseIP(name) != nil {
		return nil
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
			return fmt.Errorf("host %q is not a host name", host)
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return fmt.Errorf("host %q is not a host name (want name[:port], without scheme or path)", host)
			}
		}
	}
	return nil
}

// ServeHTTP answers the document. Nothing in the request changes it; If-None-Match with the current ETag
// answers 304.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed; use GET", http.StatusMethodNotAllowed)
		return
	}
	if err := h.prepare(); err != nil {
		problem.Write(w, problem.Wrap(problem.Internal, err, "preparing the OpenAPI document"), r.URL.Path)
		return
	}
	w.Header().Set("ETag", h.etag)
	// Short enough that a redeployed app is seen soon; connectors copy the definition at import anyway.
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	// Every If-None-Match line counts: a proxy may add its own tags on a line of their own (RFC 9110 5.3).
	if etagMatches(strings.Join(r.Header.Values("If-None-Match"), ","), h.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(h.body)
}

// etagMatches applies If-None-Match's weak comparison: "*" or any listed tag equal to etag, W/ prefix ignored.
func etagMatches(header, etag string) bool {
	for _, tag := range strings.Split(header, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == "*" || tag == etag {
			return true
		}
	}
	return false
}
