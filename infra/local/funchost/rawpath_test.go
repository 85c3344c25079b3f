package funchost

import (
	"encoding/json"
	"net/http"
	"reflect"
	"testing"
)

// Kestrel decodes every escape in the request path except %2F (and %2f), and routing splits that path on "/", so
// an encoded slash stays inside its segment, as its three characters.
func TestPathSegmentsDecodeAllButEncodedSlashes(t *testing.T) {
	tests := []struct {
		escaped string
		want    []string
	}{
		{"/api/orders/42", []string{"api", "orders", "42"}},
		{"/api%2Forders%2F42", []string{"api%2Forders%2F42"}},
		{"/api%2forders", []string{"api%2forders"}},
		{"/api/hello/a%2Fb", []string{"api", "hello", "a%2Fb"}},
		{"/api/hello/Zo%C3%AB", []string{"api", "hello", "Zoë"}},
		{"/api/hello/%41%20b", []string{"api", "hello", "A b"}},
		{"/api/hello/%252F", []string{"api", "hello", "%2F"}}, // decoded once, never twice
		{"/", nil},
		{"/api/orders/42/", []string{"api", "orders", "42"}},
		{"/api//orders", []string{"api", "", "orders"}},
		{"//api/orders", []string{"", "api", "orders"}},
	}
	for _, tt := range tests {
		t.Run(tt.escaped, func(t *testing.T) {
			if got := pathSegments(tt.escaped); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("pathSegments(%q) = %q, want %q", tt.escaped, got, tt.want)
			}
		})
	}
}

func TestDotSegmentsResolve(t *testing.T) {
	tests := []struct{ escaped, want string }{
		{"/api/orders/42", "/api/orders/42"},
		{"/api/orders/../health", "/api/health"},
		{"/api/orders/..", "/api/"},
		{"/api/./orders/.", "/api/orders/"},
		{"/api/orders/%2E%2e/health", "/api/health"},
		{"/../../api/health", "/api/health"},
		{"/api//orders/../x", "/api//x"},
		{"/api/orders/.../x", "/api/orders/.../x"},
		{"/api/a%2F..%2Fb", "/api/a%2F..%2Fb"},
	}
	for _, tt := range tests {
		if got := removeDotSegments(tt.escaped); got != tt.want {
			t.Errorf("removeDotSegments(%q) = %q, want %q", tt.escaped, got, tt.want)
		}
	}
}

func TestEncodedSlashesDoNotRoute(t *testing.T) {
	for _, forward := range []bool{false, true} {
		h := startHost(t, makeDist(t, "http", hostJSON(forward), testHandler(t)), nil)
		key := map[string]string{"x-functions-key": DefaultFunctionKey}
		tests := []struct {
			path   string
			status int
			name   string // the route parameter the function saw
		}{
			{"/api/hello/ann", http.StatusOK, "ann"},
			{"/api%2Fhello%2Fann", http.StatusNotFound, ""},
			{"/api/hello%2Fann", http.StatusNotFound, ""},
			{"/api%2fhello/ann", http.StatusNotFound, ""},
			{"/api/hello/a%2Fb", http.StatusOK, "a%2Fb"},
			{"/api/x/../hello/ann", http.StatusOK, "ann"},
			{"/api/hello/%2E/ann", http.StatusOK, "ann"},
			{"/api//hello/ann", http.StatusNotFound, ""},
			{"/api/hello/..", http.StatusNotFound, ""},
		}
		for _, tt := range tests {
			t.Run(map[bool]string{false: "wrapped", true: "forwarded"}[forward]+tt.path, func(t *testing.T) {
				status, _, body := do(t, http.MethodGet, h.base+tt.path, key, "")
				if status != tt.status {
					t.Fatalf("status %d, want %d: %s", status, tt.status, body)
				}
				if forward || tt.status != http.StatusOK {
					return // the test handler's own router sees forwarded paths
				}
				var got echoed
				if err := json.Unmarshal([]byte(body), &got); err != nil {
					t.Fatal(err)
				}
				if got.Params["name"] != tt.name {
					t.Errorf("route parameter %q, want %q", got.Params["name"], tt.name)
				}
			})
		}
	}
}
