package dataverse

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Error codes Dataverse returns (hexadecimal, as in the "code" of an error body).
const (
	CodeObjectDoesNotExist         = "0x80040217"
	CodeDuplicateRecord            = "0x80040237"
	CodeConcurrencyVersionMismatch = "0x80060882"
	CodeExpiredVersionStamp        = "0x80044352"
	CodeRequestsLimit              = "0x80072322"
	CodeExecutionTimeLimit         = "0x80072321"
	CodeConcurrencyLimit           = "0x80072326"
)

// Kind classifies an Error so callers can decide without reading codes or messages.
type Kind int

const (
	KindOther       Kind = iota
	KindNotFound         // 404: no row with that key (also update-only upsert of a missing row)
	KindConcurrency      // 412: the row changed since its ETag was read
	KindDuplicate        // 412: create-only upsert or create of a key that exists
	KindThrottled        // 429: a service protection limit
	KindAuth             // 401/403
	KindChangeTokenExpired
	KindServer // 5xx
	KindBadRequest
)

func (k Kind) String() string {
	return [...]string{"other", "not found", "concurrency", "duplicate", "throttled", "auth", "change token expired",
		"server", "bad request"}[k]
}

// Error is a Dataverse Web API error: HTTP status plus the code and message of the error body.
type Error struct {
	Status     int
	Code       string
	Message    string
	Kind       Kind
	RetryAfter time.Duration // from Retry-After, when the server sent it
	Method     string
	Path       string // the request path below the API root (no query, no host)
}

func (e *Error) Error() string {
	code := e.Code
	if code == "" {
		code = "-"
	}
	return fmt.Sprintf("dataverse %s %s: %d %s (%s): %s", e.Method, e.Path, e.Status, code, e.Kind, e.Message)
}

// Retryable says whether the same request may succeed later unchanged.
func (e *Error) Retryable() bool {
	return e.Kind == KindThrottled || e.Kind == KindServer
}

// ErrChangeTokenExpired is matched by errors.Is when a delta link can no longer be used: callers fall back
// to a full read.
var ErrChangeTokenExpired = errors.New("dataverse: change tracking token expired")

// Is lets errors.Is(err, ErrChangeTokenExpired) match an *Error of that kind.
func (e *Error) Is(target error) bool {
	return target == ErrChangeTokenExpired && e.Kind == KindChangeTokenExpired
}

// IsKind reports whether err holds an *Error of kind k.
func IsKind(err error, k Kind) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == k
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// condition is what a request asked for, which tells apart the two meanings of 412.
type condition int

const (
	condNone condition = iota
	condETag
	condUpdateOnly
	condCreateOnly
)

func conditionOf(h http.Header) condition {
	switch im := h.Get("If-Match"); {
	case im == "*":
		return condUpdateOnly
	case im != "":
		return condETag
	}
	if h.Get("If-None-Match") == "*" {
		return condCreateOnly
	}
	return condNone
}

// newError builds an Error from a status, headers and body of a failed response.
func newError(method, path string, status int, h http.Header, body []byte, cond condition) *Error {
	e := &Error{Status: status, Method: method, Path: path}
	var eb errorBody
	if json.Unmarshal(body, &eb) == nil && (eb.Error.Code != "" || eb.Error.Message != "") {
		e.Code, e.Message = eb.Error.Code, eb.Error.Message
	} else {
		e.Message = strings.TrimSpace(string(body))
		if len(e.Message) > 200 {
			e.Message = e.Message[:200]
		}
		if e.Message == "" {
			e.Message = http.StatusText(status)
		}
	}
	if h != nil {
		e.RetryAfter = parseRetryAfter(h.Get("Retry-After"))
	}
	e.Kind = classify(status, e.Code, e.Message, cond)
	return e
}

func classify(status int, code, msg string, cond condition) Kind {
	switch {
	case code == CodeExpiredVersionStamp:
		return KindChangeTokenExpired
	case status == http.StatusNotFound:
		return KindNotFound
	case status == http.StatusPreconditionFailed:
		// The code is often empty on 412: what the request asked for decides, then code, then message.
		switch {
		case code == CodeConcurrencyVersionMismatch:
			return KindConcurrency
		case code == CodeDuplicateRecord:
			return KindDuplicate
		case cond == condETag:
			return KindConcurrency
		case cond == condCreateOnly:
			return KindDuplicate
		case strings.Contains(msg, "already exists"):
			return KindDuplicate
		}
		return KindConcurrency
	case status == http.StatusTooManyRequests:
		return KindThrottled
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return KindAuth
	case status >= 500:
		return KindServer
	case status == http.StatusBadRequest && code == CodeDuplicateRecord:
		return KindDuplicate
	case status == http.StatusBadRequest:
		return KindBadRequest
	}
	return KindOther
}
