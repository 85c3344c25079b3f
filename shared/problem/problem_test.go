package problem

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestTable(t *testing.T) {
	tests := []struct {
		kind      Kind
		status    int
		retryable bool
	}{
		{Internal, 500, true},
		{Invalid, 400, false},
		{NotFound, 404, false},
		{Conflict, 409, false},
		{Unauthorized, 401, false},
		{Forbidden, 403, false},
		{Rejected, 422, false},
		{Unavailable, 503, true},
		{Throttled, 503, true},
		{Timeout, 504, true},
		{TooLarge, 413, false},
		{UnsupportedMediaType, 415, false},
		{LengthRequired, 411, false},
		{Kind(999), 500, true},
	}
	for _, tt := range tests {
		t.Run(tt.kind.String(), func(t *testing.T) {
			if got := tt.kind.Status(); got != tt.status {
				t.Errorf("Status() = %d, want %d", got, tt.status)
			}
			if got := tt.kind.Retryable(); got != tt.retryable {
				t.Errorf("Retryable() = %v, want %v", got, tt.retryable)
			}
		})
	}
}

func TestKindOfWrapped(t *testing.T) {
	base := New(Rejected, "SAP refused the order")
	err := fmt.Errorf("pushing order 42: %w", base)
	if KindOf(err) != Rejected {
		t.Fatalf("KindOf = %v, want rejected", KindOf(err))
	}
	if Retryable(err) {
		t.Fatal("a rejected order must not be retried")
	}
	if !Retryable(errors.New("boom")) {
		t.Fatal("unclassified errors must be retried, never dropped")
	}
}

func TestWrite(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		status     int
		retryAfter string
		detail     string
		fields     int
	}{
		{"invalid fields", InvalidFields("the order has 2 problems", []FieldError{{"salesorderid", "missing"}, {"lines/0/quantity", "not a decimal"}}), 400, "", "the order has 2 problems", 2},
		{"unavailable default delay", New(Unavailable, "SAP did not answer"), 503, "30", "SAP did not answer", 0},
		{"throttled with delay", &Error{Kind: Throttled, Detail: "slow down", RetryAfter: 1500 * time.Millisecond}, 503, "2", "slow down", 0},
		{"unclassified hides text", errors.New("password=hunter2 leaked"), 500, "", "an unexpected error occurred; it was logged with the invocation id", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			Write(rec, tt.err, "/api/orders")
			if rec.Code != tt.status {
				t.Errorf("status %d, want %d", rec.Code, tt.status)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("content type %q", ct)
			}
			if got := rec.Header().Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tt.retryAfter)
			}
			var doc map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			if doc["detail"] != tt.detail {
				t.Errorf("detail %v, want %q", doc["detail"], tt.detail)
			}
			if int(doc["status"].(float64)) != tt.status {
				t.Errorf("body status %v", doc["status"])
			}
			errs, _ := doc["errors"].([]any)
			if len(errs) != tt.fields {
				t.Errorf("%d field errors, want %d", len(errs), tt.fields)
			}
			if doc["instance"] != "/api/orders" {
				t.Errorf("instance %v", doc["instance"])
			}
		})
	}
}

func TestExtraMembersFlattened(t *testing.T) {
	err := &Error{Kind: Rejected, Detail: "SAP rejected", Extra: map[string]any{"sapMessages": []string{"V1/320 Sold-to party 42 not defined"}}}
	b, _ := json.Marshal(DocumentFor(err, ""))
	var doc map[string]any
	if e := json.Unmarshal(b, &doc); e != nil {
		t.Fatal(e)
	}
	msgs, ok := doc["sapMessages"].([]any)
	if !ok || len(msgs) != 1 {
		t.Fatalf("sapMessages not flattened: %s", b)
	}
	if doc["status"].(float64) != http.StatusUnprocessableEntity {
		t.Fatalf("status %v", doc["status"])
	}
}

func TestKindNamedReadsBackEveryKind(t *testing.T) {
	for k := range table {
		got, ok := KindNamed(k.String())
		if !ok || got != k {
			t.Errorf("KindNamed(%q) = %v, %v; want %v", k.String(), got, ok, k)
		}
	}
	if _, ok := KindNamed("no-such-kind"); ok {
		t.Error("an unknown name was read as a kind")
	}
}
