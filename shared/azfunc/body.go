package azfunc

import (
	"bytes"
	"errors"
	"io"
	"strings"

	"github.com/d365sap/d365sap/shared/problem"
)

// DefaultMaxBodyBytes is the HTTP body limit when Options.MaxBodyBytes is zero (HTTP_MAX_BODY_BYTES's default).
const DefaultMaxBodyBytes = 8 << 20

// A body grows inside an invocation: Json.NET writes a control character as \u00XX (six bytes for one) and an
// octet-stream body as base64. envelopeSlack is room for the rest: URL, query, identities and the headers, which
// the host's Kestrel caps at 32 KiB and which come twice (Data and Metadata).
const (
	maxEscapeGrowth = 6
	envelopeSlack   = 1 << 20
	// maxDrain bounds how much of a refused body is read and dropped so the sender gets the answer on an intact
	// connection; the host itself refuses bodies over 100 MiB, which fit many times.
	maxDrain = 1 << 30
)

var errOverLimit = errors.New("over the limit")

// envelopeLimit is the largest invocation a body within the limit can make. Anything larger holds a body over
// the limit, so it is refused without decoding; anything smaller is decoded and its body counted exactly.
func (s *Server) envelopeLimit() int64 { return maxEscapeGrowth*s.opts.MaxBodyBytes + envelopeSlack }

// readUpTo reads all of r if it has at most limit bytes, holding no more than limit+1; errOverLimit otherwise.
func readUpTo(r io.Reader, limit int64) ([]byte, error) {
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if n > limit {
		return nil, errOverLimit
	}
	return buf.Bytes(), nil
}

// drain reads and drops the rest of a refused body in small pieces.
func drain(r io.Reader) { _, _ = io.CopyN(io.Discard, r, maxDrain) }

func tooLarge(limit int64) error {
	return problem.New(problem.TooLarge, "the request body is over the limit of %d bytes", limit)
}

// errLengthRequired answers a wrapped request that says it was sent chunked and carries no body: the host builds
// Data.req.Body only when Content-Length is positive (HttpRequestExtensions.GetRequestAsJObject), so the body was
// lost before the function could see it, and "no body" would blame the caller for the wrong thing.
var errLengthRequired = problem.New(problem.LengthRequired,
	"the request body was sent chunked, without Content-Length, and the Functions host passes such bodies on empty; send it with a Content-Length header")

// sentChunked says whether the original request's Transfer-Encoding was chunked.
func sentChunked(h MultiMap) bool {
	for k, vs := range h {
		if !strings.EqualFold(k, "Transfer-Encoding") {
			continue
		}
		for _, v := range vs {
			if strings.Contains(strings.ToLower(v), "chunked") {
				return true
			}
		}
	}
	return false
}
