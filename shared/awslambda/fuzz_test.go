package awslambda

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"go/build"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/d365sap/d365sap/infra/local/kit"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/trigger"
)

// Lambda hands the adapter events built from whatever reached API Gateway, SQS or EventBridge. The adapter must
// never panic on them, must give the function exactly what the event holds, and must report to SQS exactly the
// messages it should redeliver.

// lambdaSamples reads aws-lambda-go's own event samples (events/testdata of the version go.mod requires, in the
// module cache) as seeds. They belong to the dependency, not to the kit: without them the targets still run on
// the hand-written seeds. (A test binary carries no dependency versions, so go.mod is read.)
func lambdaSamples(f *testing.F, pattern string) [][]byte {
	f.Helper()
	const module = "github.com/aws/aws-lambda-go"
	root, err := kit.RepoRoot()
	if err != nil {
		return nil
	}
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return nil
	}
	version := ""
	for _, line := range strings.Split(string(mod), "\n") {
		if fields := strings.Fields(line); len(fields) >= 2 && fields[0] == module {
			version = fields[1]
		} else if len(fields) >= 3 && fields[0] == "require" && fields[1] == module {
			version = fields[2]
		}
	}
	cache := os.Getenv("GOMODCACHE")
	if cache == "" {
		cache = filepath.Join(filepath.SplitList(build.Default.GOPATH)[0], "pkg", "mod")
	}
	names, _ := filepath.Glob(filepath.Join(cache, module+"@"+version, "events", "testdata", pattern))
	var out [][]byte
	for _, n := range names {
		if b, err := os.ReadFile(n); err == nil {
			out = append(out, b)
		}
	}
	return out
}

func fuzzFunction(f *testing.F, name, definition string) trigger.Function {
	f.Helper()
	d, err := trigger.ParseDefinition([]byte(definition))
	if err != nil {
		f.Fatal(err)
	}
	return trigger.Function{Name: name, Definition: d}
}

// seen is what the function under test saw of its request.
type seen struct {
	method, host, scheme, path, query, cookie string
	body                                      []byte
}

// FuzzAPIGatewayV2 invokes an HTTP function with API Gateway v2 (HTTP API, function URL) events: the function
// gets exactly the path, query and body of the event and no host in its URL, and the answer carries exactly
// what the function wrote, in base64 when it is not text.
func FuzzAPIGatewayV2(f *testing.F) {
	for _, b := range append(lambdaSamples(f, "apigw-v2-request-*.json"), lambdaSamples(f, "lambda-urls-request.json")...) {
		f.Add(b)
	}
	for _, s := range []string{`{}`, `null`, `[]`, `{"rawPath":"/api/orders/42","rawQueryString":"debug=1","body":"eyJhIjoxfQ==","isBase64Encoded":true,"requestContext":{"http":{"method":"POST"}}}`,
		`{"rawPath":"/api/x","body":"not base64!","isBase64Encoded":true}`, `{"requestContext":{"http":{"path":"/api/y","method":"get"}},"cookies":["a=1","b=2"],"headers":{"Host":"h"}}`,
		`{"rawPath":"/api/a b","pathParameters":{"id":"\u0000"},"body":"\u00ff"}`, `{"rawPath":"/api/x","requestContext":{"http":{"method":"GET\r\n"}}}`} {
		f.Add([]byte(s))
	}
	var got *seen
	fn := fuzzFunction(f, "echo", `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req"},{"type":"http","direction":"out","name":"res"}]}`)
	fn.HTTP = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = &seen{method: r.Method, host: r.URL.Host, scheme: r.URL.Scheme, path: r.URL.Path, query: r.URL.RawQuery, cookie: r.Header.Get("Cookie"), body: b}
		w.Header().Set("X-Echo", "1")
		_, _ = w.Write(b)
	})
	h, err := Handler(fn, Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, event []byte) {
		got = nil
		out, err := h.Invoke(context.Background(), event)
		var ev events.APIGatewayV2HTTPRequest
		if json.Unmarshal(event, &ev) != nil {
			return // Lambda refuses the event before the adapter sees it
		}
		if err != nil {
			t.Fatalf("an event that decodes failed the invocation: %v", err)
		}
		var resp events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode == 0 {
			t.Fatalf("answer %q (%v)", out, err)
		}
		body := []byte(ev.Body)
		if ev.IsBase64Encoded {
			if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
				if got != nil || resp.StatusCode != http.StatusBadRequest {
					t.Fatalf("a body that is not base64 reached the function or was not refused (%d)", resp.StatusCode)
				}
				return
			}
		}
		if got == nil {
			return // the request could not be built (a method net/http refuses): answered as a problem
		}
		path := ev.RawPath
		if path == "" {
			path = ev.RequestContext.HTTP.Path
		}
		if got.host != "" || got.scheme != "" || got.path != path || got.query != ev.RawQueryString || !bytes.Equal(got.body, body) {
			t.Fatalf("the function saw %+v; the event has path %q, query %q, body %q", got, path, ev.RawQueryString, body)
		}
		if len(ev.Cookies) > 0 && got.cookie != strings.Join(ev.Cookies, "; ") {
			t.Fatalf("cookies %q reached the function as %q", ev.Cookies, got.cookie)
		}
		answer := []byte(resp.Body)
		if resp.IsBase64Encoded {
			answer, _ = base64.StdEncoding.DecodeString(resp.Body)
		}
		if resp.StatusCode != http.StatusOK || !bytes.Equal(answer, body) {
			t.Fatalf("the function wrote %q, the answer holds %d %q", body, resp.StatusCode, answer)
		}
	})
}

// FuzzSQSEvent hands a queue function SQS batches: each message's body and receive count reach the function as
// sent, and the batch item failures are exactly the messages that failed retryably (permanent failures are
// dead-lettered and acknowledged).
func FuzzSQSEvent(f *testing.F) {
	for _, b := range lambdaSamples(f, "sqs-event.json") {
		f.Add(b)
	}
	for _, s := range []string{`{"Records":[]}`, `{"Records":[{"messageId":"m1","body":"ok","attributes":{"ApproximateReceiveCount":"2","SentTimestamp":"1523232000000"},"eventSourceARN":"arn:aws:sqs:eu-west-1:1:order-push"}]}`,
		`{"Records":[{"messageId":"a","body":"retry"},{"messageId":"b","body":"bad"},{"messageId":"a","body":"retry again"},{"body":""}]}`,
		`{"Records":[{"messageId":"x","attributes":{"ApproximateReceiveCount":"-1","SentTimestamp":"9999999999999999999"}}]}`, `{"Records":null}`} {
		f.Add([]byte(s))
	}
	var got []trigger.Message
	var dead []string
	fn := fuzzFunction(f, "queue", `{"bindings":[{"type":"queueTrigger","direction":"in","name":"msg","queueName":"order-push"}]}`)
	fn.Queue = trigger.QueueFunc(func(_ context.Context, m trigger.Message) error {
		got = append(got, m)
		switch {
		case bytes.HasPrefix(m.Body, []byte("retry")):
			return problem.New(problem.Unavailable, "try again")
		case bytes.HasPrefix(m.Body, []byte("bad")):
			return problem.New(problem.Invalid, "never")
		}
		return nil
	})
	dl := &fakeDeadLetters{DeadLetterFn: func(_ context.Context, _ string, m trigger.Message, _ error) error {
		dead = append(dead, m.ID)
		return nil
	}}
	h, err := Handler(fn, Options{DeadLetters: dl})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, event []byte) {
		got, dead = nil, nil
		out, err := h.Invoke(context.Background(), event)
		var ev events.SQSEvent
		if json.Unmarshal(event, &ev) != nil {
			return
		}
		if err != nil {
			t.Fatalf("an event that decodes failed the invocation: %v", err)
		}
		var resp events.SQSEventResponse
		if err := json.Unmarshal(out, &resp); err != nil || len(got) != len(ev.Records) {
			t.Fatalf("%d of %d messages handled; answer %q (%v)", len(got), len(ev.Records), out, err)
		}
		var wantFailed, wantDead, failed []string
		for i, rec := range ev.Records {
			m := got[i]
			if m.ID != rec.MessageId || string(m.Body) != rec.Body {
				t.Fatalf("record %d reached the function as %+v", i, m)
			}
			if n, err := strconv.Atoi(rec.Attributes["ApproximateReceiveCount"]); err == nil && m.DequeueCount != n {
				t.Fatalf("receive count %d reached the function as %d", n, m.DequeueCount)
			}
			switch {
			case strings.HasPrefix(rec.Body, "retry"):
				wantFailed = append(wantFailed, rec.MessageId)
			case strings.HasPrefix(rec.Body, "bad"):
				wantDead = append(wantDead, rec.MessageId)
			}
		}
		for _, fail := range resp.BatchItemFailures {
			failed = append(failed, fail.ItemIdentifier)
		}
		if !reflect.DeepEqual(failed, wantFailed) || !reflect.DeepEqual(dead, wantDead) {
			t.Fatalf("reported %q and dead-lettered %q, want %q and %q", failed, dead, wantFailed, wantDead)
		}
	})
}

// FuzzEventBridge runs a timer from EventBridge scheduled events: a run is past due exactly when the event's
// time is more than a minute old (with a minute's slack either side for this test's own clock).
func FuzzEventBridge(f *testing.F) {
	for _, s := range []string{`{"version":"0","id":"1","detail-type":"Scheduled Event","source":"aws.events","account":"1","time":"2019-03-18T07:59:58Z","region":"eu-west-1","resources":["arn:aws:events:eu-west-1:1:rule/sweep"],"detail":{}}`,
		`{"time":"2999-01-01T00:00:00Z"}`, `{}`, `{"time":"yesterday"}`, `{"time":null,"detail":"x"}`, `{"time":"0001-01-01T00:00:00Z"}`} {
		f.Add([]byte(s))
	}
	var got []trigger.Timer
	fn := fuzzFunction(f, "timer", `{"bindings":[{"type":"timerTrigger","direction":"in","name":"timer","schedule":"0 */5 * * * *"}]}`)
	fn.Timer = trigger.TimerFunc(func(_ context.Context, tm trigger.Timer) error { got = append(got, tm); return nil })
	h, err := Handler(fn, Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, event []byte) {
		got = nil
		_, err := h.Invoke(context.Background(), event)
		var ev events.EventBridgeEvent
		if json.Unmarshal(event, &ev) != nil {
			return
		}
		if err != nil || len(got) != 1 {
			t.Fatalf("an event that decodes ran the timer %d times (%v)", len(got), err)
		}
		age := time.Since(ev.Time)
		switch {
		case ev.Time.IsZero() || age < 0:
			if got[0].IsPastDue {
				t.Fatalf("event time %v (now %v) made the run past due", ev.Time, got[0].Now)
			}
		case age > 2*time.Minute && !got[0].IsPastDue:
			t.Fatalf("event time %v (now %v) did not make the run past due", ev.Time, got[0].Now)
		}
	})
}
