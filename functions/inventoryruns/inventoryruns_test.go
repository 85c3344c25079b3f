package inventoryruns_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/d365sap/d365sap/functions/inventoryruns"
	"github.com/d365sap/d365sap/functions/inventorysync"
)

type fakeLog struct {
	LastFn func(ctx context.Context, n int) ([]inventorysync.Summary, error)
}

func (f fakeLog) Last(ctx context.Context, n int) ([]inventorysync.Summary, error) {
	return f.LastFn(ctx, n)
}

func TestRunsAnswersTheLastRunsAndRefusesABadLast(t *testing.T) {
	for _, c := range []struct {
		name, query string
		status      int
		asked       int
		problem     string
	}{
		{"default", "", 200, 10, ""},
		{"last 3", "?last=3", 200, 3, ""},
		{"last 100", "?last=100", 200, 100, ""},
		{"last 0", "?last=0", 400, 0, "last"},
		{"last 101", "?last=101", 400, 0, "last"},
		{"last negative", "?last=-1", 400, 0, "last"},
		{"last a word", "?last=all", 400, 0, "last"},
		{"last a huge number", "?last=99999999999999999999", 400, 0, "last"},
		{"last twice", "?last=1&last=2", 400, 0, "last"},
		{"last empty", "?last=", 400, 0, "last"},
		{"last with a plus", "?last=%2B5", 400, 0, "last"},
		{"last with a space", "?last=%205", 400, 0, "last"},
		{"last with leading zeros", "?last=007", 200, 7, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			asked := 0
			h := &inventoryruns.Handler{Runs: fakeLog{LastFn: func(_ context.Context, n int) ([]inventorysync.Summary, error) {
				asked = n
				return []inventorysync.Summary{{RunID: "r1", Outcome: inventorysync.Complete}}, nil
			}}}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/inventory/runs"+c.query, nil))
			if rec.Code != c.status || asked != c.asked {
				t.Fatalf("status %d asked %d, want %d and %d: %s", rec.Code, asked, c.status, c.asked, rec.Body)
			}
			if c.problem != "" {
				if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" || !strings.Contains(rec.Body.String(), `"field":"`+c.problem+`"`) {
					t.Fatalf("%s %s", ct, rec.Body)
				}
				return
			}
			var a inventoryruns.Answer
			if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil || len(a.Runs) != 1 || a.Runs[0].RunID != "r1" {
				t.Fatalf("%v %s", err, rec.Body)
			}
		})
	}
}

func TestRunsAnswers503WhenStorageDoesNot(t *testing.T) {
	h := &inventoryruns.Handler{Runs: fakeLog{LastFn: func(context.Context, int) ([]inventorysync.Summary, error) {
		return nil, errors.New("connection refused")
	}}}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/inventory/runs", nil))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("%d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	if strings.Contains(rec.Body.String(), "connection refused") {
		t.Errorf("the answer echoes the storage error: %s", rec.Body)
	}
}

func TestNoRunsIsAnEmptyList(t *testing.T) {
	h := &inventoryruns.Handler{Runs: fakeLog{LastFn: func(context.Context, int) ([]inventorysync.Summary, error) { return nil, nil }}}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/inventory/runs", nil))
	if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != `{"runs":[]}` {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}
