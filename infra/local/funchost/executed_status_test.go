package funchost

import (
	"encoding/json"
	"testing"
)

// The host's "executed" line carries the status an HTTP function answered, so a log reader tells the failures
// among HTTP invocations apart without the answers; functions with no http output carry none.
func TestAnsweredStatus(t *testing.T) {
	httpFn := &function{outputs: []binding{{Type: "http", Direction: "out", Name: "res"}}}
	returnFn := &function{outputs: []binding{{Type: "http", Direction: "out", Name: "$return"}}}
	queueFn := &function{outputs: []binding{{Type: "queue", Direction: "out", Name: "out"}}}
	tests := []struct {
		name string
		fn   *function
		res  invocationResult
		want int
	}{
		{"a string status", httpFn, invocationResult{Outputs: map[string]json.RawMessage{"res": json.RawMessage(`{"statusCode":"404"}`)}}, 404},
		{"a numeric status", httpFn, invocationResult{Outputs: map[string]json.RawMessage{"res": json.RawMessage(`{"statusCode":503}`)}}, 503},
		{"status only", httpFn, invocationResult{Outputs: map[string]json.RawMessage{"res": json.RawMessage(`{"status":"201"}`)}}, 201},
		{"nothing set answers an empty 200", httpFn, invocationResult{}, 200},
		{"the return value", returnFn, invocationResult{ReturnValue: json.RawMessage(`{"statusCode":"422"}`)}, 422},
		{"a status that is none", httpFn, invocationResult{Outputs: map[string]json.RawMessage{"res": json.RawMessage(`{"statusCode":"abc"}`)}}, 0},
		{"no http output", queueFn, invocationResult{Outputs: map[string]json.RawMessage{"out": json.RawMessage(`"m"`)}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := answeredStatus(tt.fn, &tt.res); got != tt.want {
				t.Errorf("answeredStatus = %d, want %d", got, tt.want)
			}
		})
	}
}
