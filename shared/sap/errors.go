package sap

import (
	"errors"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Sentinels matched by *Error.Is, so callers can write errors.Is(err, sap.ErrNotFound).
var (
	ErrNotFound           = errors.New("SAP: not found")
	ErrPreconditionFailed = errors.New("SAP: precondition failed (ETag mismatch)")
	ErrUnauthorized       = errors.New("SAP: unauthorized")
	ErrCSRFRequired       = errors.New("SAP: CSRF token validation failed")
	ErrResponseTooLarge   = errors.New("SAP: response larger than the configured limit")
	// ErrOutcomeUnknown marks a write that was sent, or may have been, but whose answer never arrived or could
	// not be read (connection reset, timeout after sending, a body that broke off): SAP may or may not have
	// applied it, now or minutes later. For a sales order, look it up (FindSalesOrders, FindSalesOrdersByField)
	// before creating it again. An answer SAP or a gateway gave (*Error, even a 502/504) does not carry it.
	ErrOutcomeUnknown = errors.New("SAP: the write was sent but its outcome is unknown")
	// ErrNotSent marks a write that provably never reached SAP: no connection could be made (connection
	// refused, DNS failure, TLS handshake failure), or it failed before the request went out (the CSRF token or
	// OAuth token could not be fetched). It is safe to send the same write again. It may wrap an *Error, e.g. the
	// 503 that answered the CSRF fetch.
	ErrNotSent = errors.New("SAP: the write was not sent")
)

// Error is a non-2xx answer from SAP, decoded from SAP's error body when it has one (OData V2 or V4, SAP Gateway
// or CAP: see errorbody.go). Read it with errors.As; compare Code (e.g. "V1/320"), never Message.
type Error struct {
	StatusCode    int
	Code          string
	Message       string
	Lang          string
	Target        string // what the error is about, when SAP says (OData V4 and CAP: a property path)
	TransactionID string
	Timestamp     string
	ComponentID   string
	ServiceID     string
	SAPNote       string
	Details       []ErrorDetail
	// RetryAfter is the server's Retry-After, when it sent one.
	RetryAfter time.Duration
	// CSRFRequired is set on 403 with "X-CSRF-Token: Required".
	CSRFRequired bool
}

// ErrorDetail is one further message: an entry of innererror.errordetails (OData V2) or of details (OData V4).
type ErrorDetail struct {
	Code        string
	Message     string
	PropertyRef string
	Severity    string // error, warning, info or success
	Target      string
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "SAP answered %d", e.StatusCode)
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", e.Code)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.TransactionID != "" {
		fmt.Fprintf(&b, " (transaction %s)", e.TransactionID)
	}
	return b.String()
}

// Is maps status codes onto the package sentinels.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrPreconditionFailed:
		return e.StatusCode == http.StatusPreconditionFailed
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case ErrCSRFRequired:
		return e.CSRFRequired
	}
	return false
}

// Temporary reports whether the same request may succeed later (throttling or an unavailable system).
func (e *Error) Temporary() bool { return retryableStatus(e.StatusCode) || e.StatusCode == 500 }

// BusinessError reports a 400 that SAP raised from its application logic (a message class code such as "V1/320"),
// as opposed to a transport or authorisation problem: the payload must change before a retry can succeed.
func (e *Error) BusinessError() bool {
	return e.StatusCode == http.StatusBadRequest && e.Code != ""
}

// maxErrorBody bounds how much of an error body is read. SAP's messages can be long (a credit check listing the
// open items, an application log): cutting the JSON would lose its code and turn a business rejection into an
// unreadable answer, so the bound is generous; callers cut what they keep.
const maxErrorBody = 1 << 20

// parseError builds an *Error from a response whose body has been read (at most maxErrorBody bytes).
func parseError(resp *http.Response, body []byte) *Error {
	e := &Error{StatusCode: resp.StatusCode}
	e.RetryAfter = retryAfter(resp.Header, time.Now())
	if resp.StatusCode == http.StatusForbidden && strings.EqualFold(resp.Header.Get("X-CSRF-Token"), "Required") {
		e.CSRFRequired = true
	}
	if decodeErrorBody(body, e) {
		return e
	}
	*e = Error{StatusCode: e.StatusCode, RetryAfter: e.RetryAfter, CSRFRequired: e.CSRFRequired}
	// Not SAP's JSON (an HTML page from a gateway, plain text "CSRF token validation failed"): keep a short excerpt.
	e.Message = excerpt(resp.Header.Get("Content-Type"), body)
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}

// maxExcerpt bounds Error.Message for bodies that are not SAP's JSON, in characters.
const maxExcerpt = 200

var (
	htmlHidden = regexp.MustCompile(`(?is)<(head|script|style)\b.*?</(head|script|style)\s*>`)
	htmlTitle  = regexp.MustCompile(`(?is)<title\b[^>]*>(.*?)</title\s*>`)
	htmlTag    = regexp.MustCompile(`(?s)<[^>]*>`)
)

// excerpt makes a body that is not SAP's JSON readable in one line: an HTML page (from the Web Dispatcher, an
// Application Gateway, API Management) becomes its visible text, or its title when the body shows none.
func excerpt(contentType string, body []byte) string {
	text := string(body)
	if strings.Contains(strings.ToLower(contentType), "html") || strings.HasPrefix(strings.TrimSpace(text), "<") {
		title := ""
		if m := htmlTitle.FindStringSubmatch(text); m != nil {
			title = m[1]
		}
		text = htmlTag.ReplaceAllString(htmlHidden.ReplaceAllString(text, " "), " ")
		if strings.TrimSpace(text) == "" {
			text = htmlTag.ReplaceAllString(title, " ")
		}
		text = html.UnescapeString(text)
	}
	text = strings.Join(strings.Fields(text), " ")
	if r := []rune(text); len(r) > maxExcerpt {
		text = string(r[:maxExcerpt]) + "…"
	}
	return text
}

// retryAfter reads Retry-After in seconds or as an HTTP date; 0 when absent or invalid.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		// Capped: past ~292 years the product overflows into a negative wait, which slips under the retry limit.
		const maxSecs = int((1<<63 - 1) / time.Second)
		return time.Duration(min(secs, maxSecs)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// ValidationError lists payload problems the client found before sending (a value longer than the EDMX MaxLength,
// a decimal beyond its precision): SAP would reject them with a 400.
type ValidationError struct {
	Problems []string
}

func (e *ValidationError) Error() string {
	return "invalid SAP payload: " + strings.Join(e.Problems, "; ")
}
