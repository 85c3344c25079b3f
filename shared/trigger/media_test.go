package trigger

import (
	"errors"
	"net/http"
	"testing"

	"github.com/d365sap/d365sap/shared/problem"
)

func TestCheckMediaType(t *testing.T) {
	json := []string{"application/json"}
	tests := []struct {
		name, ct string
		accepts  []string
		ok       bool
	}{
		{"exact", "application/json", json, true},
		{"with UTF-8 charset", "application/json; charset=utf-8", json, true},
		{"case-insensitive", "Application/JSON; Charset=UTF-8", json, true},
		{"other parameter", "application/json; odata.metadata=minimal", json, true},
		{"a prefix is not the type", "application/jsonp", json, false},
		{"a suffix type is not the type", "application/json-patch+json", json, false},
		{"text/json", "text/json", json, false},
		{"UTF-16", "application/json; charset=utf-16", json, false},
		{"missing", "", json, false},
		{"blank", "   ", json, false},
		{"garbage", "application/", json, false},
		{"form", "application/x-www-form-urlencoded", json, false},
		{"a function that reads no body", "text/plain", nil, true},
		{"several accepted", "application/cloudevents+json", []string{"application/json", "application/cloudevents+json"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckMediaType(tt.accepts, tt.ct)
			if (err == nil) != tt.ok {
				t.Fatalf("CheckMediaType(%q) = %v, want ok %v", tt.ct, err, tt.ok)
			}
			if err != nil && problem.KindOf(err) != problem.UnsupportedMediaType {
				t.Fatalf("kind %v, want unsupported-media-type", problem.KindOf(err))
			}
		})
	}
}

func TestCheckBody(t *testing.T) {
	json := []string{"application/json"}
	tests := []struct {
		name    string
		h       http.Header
		accepts []string
		field   string // the field the 415 names; "" when accepted
	}{
		{"one JSON type", http.Header{"Content-Type": {"application/json"}}, json, ""},
		{"Content-Type twice", http.Header{"Content-Type": {"application/json", "text/plain"}}, json, "Content-Type"},
		{"the same Content-Type twice", http.Header{"Content-Type": {"application/json", "application/json"}}, json, "Content-Type"},
		{"no Content-Type", http.Header{}, json, "Content-Type"},
		{"gzip", http.Header{"Content-Type": {"application/json"}, "Content-Encoding": {"gzip"}}, json, "Content-Encoding"},
		{"br after identity", http.Header{"Content-Type": {"application/json"}, "Content-Encoding": {"identity, br"}}, json, "Content-Encoding"},
		{"identity", http.Header{"Content-Type": {"application/json"}, "Content-Encoding": {"Identity"}}, json, ""},
		{"an empty coding", http.Header{"Content-Type": {"application/json"}, "Content-Encoding": {""}}, json, ""},
		{"a function that reads no body", http.Header{"Content-Encoding": {"gzip"}}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckBody(tt.accepts, tt.h)
			var pe *problem.Error
			switch {
			case tt.field == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.field != "" && (!errors.As(err, &pe) || pe.Kind != problem.UnsupportedMediaType || len(pe.Fields) != 1 || pe.Fields[0].Field != tt.field):
				t.Fatalf("CheckBody = %v, want a 415 naming %s", err, tt.field)
			}
		})
	}
}
