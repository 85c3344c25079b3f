// Command testhandler is a custom handler for the stand-in's own tests, written from the protocol description
// (../shared/contracts/functions-host.md) and not from the stand-in's code, so that a misreading on one side shows up
// as a failure rather than cancelling out. Every function answers with what it received so tests can check the
// host's side of the protocol.
package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// invocationRequest is the body the host POSTs to /<FunctionName>.
type invocationRequest struct {
	Data     map[string]json.RawMessage `json:"Data"`
	Metadata map[string]json.RawMessage `json:"Metadata"`
}

type invocationResponse struct {
	Outputs     map[string]any `json:"Outputs,omitempty"`
	Logs        []string       `json:"Logs,omitempty"`
	ReturnValue any            `json:"ReturnValue,omitempty"`
}

// httpRequest is Data.req when the host wraps an HTTP request.
type httpRequest struct {
	URL        string              `json:"Url"`
	Method     string              `json:"Method"`
	Query      map[string]string   `json:"Query"`
	Headers    map[string][]string `json:"Headers"`
	Params     map[string]string   `json:"Params"`
	Identities []json.RawMessage   `json:"Identities"`
	Body       *string             `json:"Body"`
}

// unquote reads a value the host serialised into a string: a JSON string holding the text, or holding the text
// quoted once more. Both forms are allowed by the contract.
func unquote(raw json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("decoding %s: %w", string(raw), err)
	}
	var inner string
	if strings.HasPrefix(s, `"`) && json.Unmarshal([]byte(s), &inner) == nil {
		return inner, nil
	}
	return s, nil
}

// metaText reads a metadata value: a string (maybe with embedded quotes) or a bare value.
func metaText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return string(raw)
	}
	return strings.Trim(s, `"`)
}

type app struct {
	log *slog.Logger
	mu  sync.Mutex
	// running counts concurrent invocations per function.
	running map[string]int
}

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	port := os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT")
	if port == "" {
		log.Error("FUNCTIONS_CUSTOMHANDLER_PORT is not set")
		os.Exit(2)
	}
	a := &app{log: log, running: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {})
	// Forwarded HTTP functions arrive at their own path.
	mux.HandleFunc("/api/", a.forwarded)
	for _, name := range []string{"hello", "secret", "crash", "echo", "tick", "work", "fail", "env", "flaky", "daily", "size"} {
		mux.HandleFunc("POST /"+name, a.invocation(name))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		log.Error("listening", "err", err.Error())
		os.Exit(2)
	}
	log.Info("testhandler listening", "port", port, "worker_id", os.Getenv("FUNCTIONS_CUSTOMHANDLER_WORKER_ID"))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.Serve(ln); err != nil {
		log.Error("serving", "err", err.Error())
		os.Exit(1)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// forwarded answers a forwarded HTTP request with what arrived.
func (a *app) forwarded(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/api/crash") {
		os.Exit(3)
	}
	if strings.HasPrefix(r.URL.Path, "/api/size") {
		// Only the size: a large upload is not sent back.
		n, _ := io.Copy(io.Discard, r.Body)
		writeJSON(w, http.StatusOK, map[string]any{"bytes": n})
		return
	}
	body, _ := io.ReadAll(r.Body)
	status := http.StatusOK
	if s := r.URL.Query().Get("status"); s != "" {
		fmt.Sscan(s, &status)
	}
	w.Header().Set("X-From-Handler", "yes")
	writeJSON(w, status, map[string]any{
		"mode": "forwarded", "method": r.Method, "path": r.URL.Path, "query": r.URL.RawQuery, "body": string(body),
		"invocationId": r.Header.Get("X-Azure-Functions-InvocationId"),
		"hostVersion":  r.Header.Get("X-Azure-Functions-HostVersion"),
		"userAgent":    r.Header.Get("User-Agent"), "custom": r.Header.Get("X-Custom"),
	})
}

func (a *app) invocation(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req invocationRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, "decoding the invocation: "+err.Error(), http.StatusBadRequest)
			return
		}
		a.mu.Lock()
		a.running[name]++
		concurrent := a.running[name]
		a.mu.Unlock()
		defer func() {
			a.mu.Lock()
			a.running[name]--
			a.mu.Unlock()
		}()
		id := r.Header.Get("X-Azure-Functions-InvocationId")
		switch name {
		case "hello", "secret", "echo":
			a.httpFunction(w, name, id, req)
		case "size":
			a.size(w, req)
		case "crash":
			os.Exit(3)
		case "tick", "daily":
			time.Sleep(300 * time.Millisecond)
			var timer struct {
				IsPastDue      bool            `json:"IsPastDue"`
				ScheduleStatus json.RawMessage `json:"ScheduleStatus"`
				Schedule       json.RawMessage `json:"Schedule"`
			}
			if err := json.Unmarshal(req.Data["timer"], &timer); err != nil {
				http.Error(w, "decoding the timer: "+err.Error(), http.StatusBadRequest)
				return
			}
			writeJSON(w, http.StatusOK, invocationResponse{
				Outputs: map[string]any{"ticks": map[string]any{"invocationId": id, "isPastDue": timer.IsPastDue,
					"concurrent": concurrent, "hasSchedule": len(timer.Schedule) > 0,
					"scheduleStatus": string(timer.ScheduleStatus)}},
				Logs: []string{"tick ran"},
			})
		case "work":
			text, err := unquote(req.Data["msg"])
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			sys := map[string]any{}
			json.Unmarshal(req.Metadata["sys"], &sys)
			writeJSON(w, http.StatusOK, invocationResponse{
				Outputs: map[string]any{"done": map[string]any{
					"text": text, "raw": string(req.Data["msg"]),
					"dequeueCount": metaText(req.Metadata["DequeueCount"]), "dequeueCountRaw": string(req.Metadata["DequeueCount"]),
					"id": metaText(req.Metadata["Id"]), "idRaw": string(req.Metadata["Id"]),
					"insertionTime": metaText(req.Metadata["InsertionTime"]), "sysMethod": sys["MethodName"],
				}},
				Logs: []string{"work processed"},
			})
		case "flaky":
			// Fails until the host's retry policy has retried twice, then reports the retry context it saw.
			var rc struct {
				RetryCount    int             `json:"RetryCount"`
				MaxRetryCount int             `json:"MaxRetryCount"`
				Exception     json.RawMessage `json:"Exception"`
			}
			if err := json.Unmarshal(req.Metadata["RetryContext"], &rc); err != nil {
				http.Error(w, "no RetryContext: "+err.Error(), http.StatusBadRequest)
				return
			}
			if rc.RetryCount < 2 {
				http.Error(w, "flaky failing on attempt "+fmt.Sprint(rc.RetryCount), http.StatusInternalServerError)
				return
			}
			writeJSON(w, http.StatusOK, invocationResponse{Outputs: map[string]any{"result": map[string]any{
				"retryCount": rc.RetryCount, "maxRetryCount": rc.MaxRetryCount, "exception": string(rc.Exception)}}})
		case "fail":
			// Outputs given with a failure status must be dropped by the host.
			writeJSON(w, http.StatusInternalServerError, invocationResponse{
				Outputs: map[string]any{"side": map[string]any{"should": "never be written"}},
				Logs:    []string{"fail failing on purpose"},
			})
		case "env":
			writeJSON(w, http.StatusOK, invocationResponse{Outputs: map[string]any{"res": map[string]any{
				"statusCode": "200", "status": "200", "headers": map[string]string{},
				"body": map[string]string{
					"port": os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT"), "httpWorkerPort": os.Getenv("FUNCTIONS_HTTPWORKER_PORT"),
					"workerId": os.Getenv("FUNCTIONS_CUSTOMHANDLER_WORKER_ID"), "httpWorkerId": os.Getenv("FUNCTIONS_HTTPWORKER_ID"),
					"appRoot": os.Getenv("FUNCTIONS_APP_ROOT_PATH"), "setting": os.Getenv("TEST_SETTING"),
					"masterKey": os.Getenv("FUNCHOST_MASTER_KEY"), "pid": fmt.Sprint(os.Getpid()),
				}}}})
		}
	}
}

func (a *app) httpFunction(w http.ResponseWriter, name, id string, req invocationRequest) {
	var hr httpRequest
	if err := json.Unmarshal(req.Data["req"], &hr); err != nil {
		http.Error(w, "decoding req: "+err.Error(), http.StatusBadRequest)
		return
	}
	if hr.Query["fail"] != "" {
		// A failed invocation: the host must answer 500 and never pass this body on.
		http.Error(w, "handler internals: boom", http.StatusInternalServerError)
		return
	}
	body := ""
	if hr.Body != nil {
		body = *hr.Body
	}
	echo := map[string]any{
		"mode": "wrapped", "function": name, "method": hr.Method, "url": hr.URL, "query": hr.Query,
		"params": hr.Params, "body": body, "bodyPresent": hr.Body != nil, "identities": len(hr.Identities),
		"custom": hr.Headers["X-Custom"], "invocationId": id, "transferEncoding": hr.Headers["Transfer-Encoding"],
	}
	if name == "echo" {
		echo["metaId"] = string(req.Metadata["id"])
		writeJSON(w, http.StatusOK, invocationResponse{
			Outputs: map[string]any{
				"res": map[string]any{"statusCode": "201", "status": "201",
					"headers": map[string]string{"X-Echo": "yes"}, "body": echo},
				"out":  map[string]any{"id": hr.Params["id"], "body": body},
				"blob": fmt.Sprintf(`{"id":%q}`, hr.Params["id"]),
			},
			Logs: []string{"echo logged " + hr.Params["id"]},
		})
		return
	}
	writeJSON(w, http.StatusOK, invocationResponse{
		Outputs: map[string]any{"res": map[string]any{"statusCode": 200, "status": "200",
			"headers": map[string]string{"Content-Type": "application/json"}, "body": echo}},
		Logs: []string{name + " logged"},
	})
}

// size answers how many bytes of body arrived (decoded from base64 for octet-stream and multipart, as the contract
// says they travel), and not the body itself, so that large uploads can be tested.
func (a *app) size(w http.ResponseWriter, req invocationRequest) {
	var hr httpRequest
	if err := json.Unmarshal(req.Data["req"], &hr); err != nil {
		http.Error(w, "decoding req: "+err.Error(), http.StatusBadRequest)
		return
	}
	n := 0
	if hr.Body != nil {
		n = len(*hr.Body)
		ct := ""
		if v := hr.Headers["Content-Type"]; len(v) > 0 {
			ct = strings.ToLower(v[0])
		}
		if strings.HasPrefix(ct, "application/octet-stream") || strings.HasPrefix(ct, "multipart/") {
			b, err := base64.StdEncoding.DecodeString(*hr.Body)
			if err != nil {
				http.Error(w, "decoding the base64 body: "+err.Error(), http.StatusBadRequest)
				return
			}
			n = len(b)
		}
	}
	writeJSON(w, http.StatusOK, invocationResponse{Outputs: map[string]any{"res": map[string]any{
		"statusCode": "200", "status": "200", "headers": map[string]string{"Content-Type": "application/json"},
		"body": map[string]any{"bytes": n, "bodyPresent": hr.Body != nil, "transferEncoding": hr.Headers["Transfer-Encoding"]},
	}}})
}
