package trigger

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

func TestParseDefinition(t *testing.T) {
	tests := []struct {
		name        string
		json        string
		wantErr     string
		kind        Kind
		forwardable bool
		route       string
	}{
		{"http", `{"bindings":[{"type":"httpTrigger","authLevel":"function","direction":"in","name":"req","methods":["post"],"route":"orders/{id}"},{"type":"http","direction":"out","name":"res"}]}`, "", HTTPTrigger, true, "orders/{id}"},
		{"http with queue output", `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req"},{"type":"http","direction":"out","name":"res"},{"type":"queue","direction":"out","name":"q","queueName":"x"}]}`, "", HTTPTrigger, false, "fn"},
		{"timer", `{"bindings":[{"type":"timerTrigger","direction":"in","name":"timer","schedule":"0 */5 * * * *"}]}`, "", TimerTrigger, false, "fn"},
		{"no trigger", `{"bindings":[{"type":"http","direction":"out","name":"res"}]}`, "found 0", "", false, ""},
		{"two triggers", `{"bindings":[{"type":"httpTrigger","direction":"in","name":"a"},{"type":"queueTrigger","direction":"in","name":"b"}]}`, "found 2", "", false, ""},
		{"not json", `{`, "parsing function.json", "", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := ParseDefinition([]byte(tt.json))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if Kind(d.Trigger().Type) != tt.kind {
				t.Errorf("trigger %q", d.Trigger().Type)
			}
			if d.Forwardable() != tt.forwardable {
				t.Errorf("Forwardable() = %v", d.Forwardable())
			}
			if tt.kind == HTTPTrigger && d.Route("fn") != tt.route {
				t.Errorf("Route = %q, want %q", d.Route("fn"), tt.route)
			}
		})
	}
}

func TestValidateMatchesHandlerToTrigger(t *testing.T) {
	timer, _ := ParseDefinition([]byte(`{"bindings":[{"type":"timerTrigger","direction":"in","name":"t","schedule":"0 * * * * *"}]}`))
	ok := Function{Name: "sync", Definition: timer, Timer: TimerFunc(func(context.Context, Timer) error { return nil })}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	wrong := Function{Name: "sync", Definition: timer, HTTP: http.NotFoundHandler()}
	if err := wrong.Validate(); err == nil || !strings.Contains(err.Error(), `declares "timerTrigger"`) {
		t.Fatalf("err = %v", err)
	}
	none := Function{Name: "sync", Definition: timer}
	if err := none.Validate(); err == nil {
		t.Fatal("a function without a handler must not validate")
	}
}

func TestLogHandlerAddsInvocation(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(NewLogHandler(slog.NewJSONHandler(&buf, nil))).With("app", "d365sap")
	ctx := WithInvocation(context.Background(), Invocation{ID: "inv-1", Function: "health"})
	log.InfoContext(ctx, "hello")
	log.Info("no invocation")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines", len(lines))
	}
	var first, second map[string]any
	_ = json.Unmarshal([]byte(lines[0]), &first)
	_ = json.Unmarshal([]byte(lines[1]), &second)
	if first["invocation_id"] != "inv-1" || first["function"] != "health" || first["app"] != "d365sap" {
		t.Errorf("first line %v", first)
	}
	if _, ok := second["invocation_id"]; ok {
		t.Errorf("second line has an invocation id: %v", second)
	}
}
