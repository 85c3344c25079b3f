package trigger

import (
	"bytes"
	"net/http"
)

// Recorder collects an http.Handler's answer in memory, for runtimes that carry HTTP responses inside their own
// payloads (a wrapped custom-handler invocation, an API Gateway event) rather than on a connection.
type Recorder struct {
	header http.Header
	code   int
	Body   bytes.Buffer
}

// NewRecorder makes an empty Recorder.
func NewRecorder() *Recorder { return &Recorder{header: http.Header{}} }

// Header is the response header map.
func (r *Recorder) Header() http.Header { return r.header }

// WriteHeader keeps the first status written, as net/http does.
func (r *Recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}

// Write appends to the body, implying 200 when no status was written.
func (r *Recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.Body.Write(b)
}

// Status is the answer's status code; 200 when the handler wrote nothing.
func (r *Recorder) Status() int {
	if r.code == 0 {
		return http.StatusOK
	}
	return r.code
}
