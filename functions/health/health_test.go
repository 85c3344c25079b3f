package health

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

type fakePinger struct {
	PingFn func(ctx context.Context) error
}

func (f *fakePinger) Ping(ctx context.Context) error { return f.PingFn(ctx) }

var _ Pinger = (*fakePinger)(nil)

func TestHealth(t *testing.T) {
	tests := []struct {
		name      string
		ping      func(ctx context.Context) error
		status    int
		report    string
		storageOK bool
		errText   string
	}{
		{"storage answers", func(context.Context) error { return nil }, 200, "ok", true, ""},
		{"storage fails", func(context.Context) error { return errors.New("dial tcp 10.1.2.3:443: refused") }, 503, "degraded", false, "storage did not answer"},
		{"storage hangs", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }, 503, "degraded", false, "storage did not answer within 50ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &Handler{Version: "v1.2.3", Build: "abc123", Storage: &fakePinger{PingFn: tt.ping}, Timeout: 50 * time.Millisecond}
			f, err := Function(h)
			if err != nil {
				t.Fatal(err)
			}
			if f.Definition.Trigger().AuthLevel != "anonymous" || f.Definition.Route(f.Name) != "health" || f.Validate() != nil {
				t.Fatalf("definition = %+v", f.Definition)
			}
			rec := httptest.NewRecorder()
			f.HTTP.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/health", nil))
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			var rep Report
			if err := json.Unmarshal(rec.Body.Bytes(), &rep); err != nil {
				t.Fatal(err)
			}
			if rep.Status != tt.report || rep.Version != "v1.2.3" || rep.Build != "abc123" || rep.Checks["storage"].OK != tt.storageOK || rep.Checks["storage"].Error != tt.errText {
				t.Fatalf("report = %+v", rep)
			}
		})
	}
}
