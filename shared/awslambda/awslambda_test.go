package awslambda

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/trigger"
)

func def(t *testing.T, s string) trigger.Definition {
	t.Helper()
	d, err := trigger.ParseDefinition([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

type fakeDeadLetters struct {
	DeadLetterFn func(ctx context.Context, function string, m trigger.Message, cause error) error
}

func (f *fakeDeadLetters) DeadLetter(ctx context.Context, function string, m trigger.Message, cause error) error {
	return f.DeadLetterFn(ctx, function, m, cause)
}

func TestHTTPEvent(t *testing.T) {
	var seen *http.Request
	var seenBody string
	f := trigger.Function{Name: "orderstatus",
		Definition: def(t, `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","methods":["post"],"route":"orders/{salesorderid}"},{"type":"http","direction":"out","name":"res"}]}`),
		HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			seen = r
			b, _ := io.ReadAll(r.Body)
			seenBody = string(b)
			http.SetCookie(w, &http.Cookie{Name: "a", Value: "1"})
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusAccepted)
			_, _ = io.WriteString(w, `{"ok":true}`)
		})}
	h, err := Handler(f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ev := events.APIGatewayV2HTTPRequest{
		RawPath: "/api/orders/42", RawQueryString: "debug=1&x=2",
		Headers:         map[string]string{"content-type": "application/json", "x-functions-key": "k"},
		Cookies:         []string{"s=1", "t=2"},
		PathParameters:  map[string]string{"salesorderid": "42"},
		Body:            base64.StdEncoding.EncodeToString([]byte(`{"salesorderid":"42"}`)),
		IsBase64Encoded: true,
	}
	ev.RequestContext.HTTP.Method = "POST"
	ev.RequestContext.DomainName = "abc.lambda-url.eu-west-1.on.aws"
	out, err := Invoke(context.Background(), h, ev)
	if err != nil {
		t.Fatal(err)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 202 || resp.Body != `{"ok":true}` || resp.Headers["Content-Type"] != "application/json" || len(resp.Cookies) != 1 {
		t.Errorf("response = %+v", resp)
	}
	if seen.Method != "POST" || seen.URL.Path != "/api/orders/42" || seen.URL.Query().Get("x") != "2" ||
		seen.PathValue("salesorderid") != "42" || seen.Header.Get("Cookie") != "s=1; t=2" || seenBody != `{"salesorderid":"42"}` {
		t.Errorf("request = %s %s %v body %q", seen.Method, seen.URL, seen.Header, seenBody)
	}
}

// HTTP_MAX_BODY_BYTES holds on Lambda as on Azure: a body over it is the 413 problem and the function never runs.
func TestHTTPBodyLimit(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		b64    bool
		status int
	}{
		{"at the limit", strings.Repeat("a", 16), false, http.StatusOK},
		{"over", strings.Repeat("a", 17), false, http.StatusRequestEntityTooLarge},
		{"over once base64 is decoded", base64.StdEncoding.EncodeToString([]byte(strings.Repeat("a", 17))), true, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ran := false
			f := trigger.Function{Name: "size", Definition: def(t, `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req"},{"type":"http","direction":"out","name":"res"}]}`),
				HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ran = true })}
			h, _ := Handler(f, Options{MaxBodyBytes: 16})
			out, err := Invoke(context.Background(), h, events.APIGatewayV2HTTPRequest{RawPath: "/api/size", Body: tt.body, IsBase64Encoded: tt.b64})
			if err != nil {
				t.Fatal(err)
			}
			var resp events.APIGatewayV2HTTPResponse
			_ = json.Unmarshal(out, &resp)
			if resp.StatusCode != tt.status || ran != (tt.status == http.StatusOK) {
				t.Fatalf("status %d, function ran %v: %s", resp.StatusCode, ran, resp.Body)
			}
			if tt.status != http.StatusOK && !strings.Contains(resp.Body, problem.TypeBase+"payload-too-large") {
				t.Errorf("body %s", resp.Body)
			}
		})
	}
}

func TestHTTPBinaryResponseIsBase64(t *testing.T) {
	f := trigger.Function{Name: "bin", Definition: def(t, `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req"},{"type":"http","direction":"out","name":"res"}]}`),
		HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte{0xff, 0x00}) })}
	h, _ := Handler(f, Options{})
	out, err := Invoke(context.Background(), h, events.APIGatewayV2HTTPRequest{RawPath: "/api/bin"})
	if err != nil {
		t.Fatal(err)
	}
	var resp events.APIGatewayV2HTTPResponse
	_ = json.Unmarshal(out, &resp)
	if !resp.IsBase64Encoded || resp.Body != "/wA=" {
		t.Fatalf("response = %+v", resp)
	}
}

func TestSQSPartialBatchFailure(t *testing.T) {
	tests := []struct {
		name         string
		deadLetterOK bool
		wantFailures []string
		wantDead     []string
	}{
		{"permanent dead-lettered, retryable reported", true, []string{"m2", "m4"}, []string{"m3"}},
		{"dead-letter store down: permanent reported too", false, []string{"m2", "m3", "m4"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var dead []string
			var got []trigger.Message
			f := trigger.Function{Name: "statusupdates", Definition: def(t, `{"bindings":[{"type":"queueTrigger","direction":"in","name":"msg","queueName":"sap-events"}]}`),
				Queue: trigger.QueueFunc(func(ctx context.Context, m trigger.Message) error {
					mu.Lock()
					got = append(got, m)
					mu.Unlock()
					switch string(m.Body) {
					case "retry":
						return problem.New(problem.Unavailable, "SAP down")
					case "bad":
						return problem.New(problem.Invalid, "unknown order")
					case "boom":
						return errors.New("unexpected")
					}
					if inv, ok := trigger.InvocationFrom(ctx); !ok || inv.Function != "statusupdates" {
						return fmt.Errorf("no invocation in context")
					}
					return nil
				})}
			dl := &fakeDeadLetters{DeadLetterFn: func(_ context.Context, fn string, m trigger.Message, cause error) error {
				if !tt.deadLetterOK {
					return errors.New("blob storage down")
				}
				mu.Lock()
				defer mu.Unlock()
				dead = append(dead, m.ID)
				return nil
			}}
			h, err := Handler(f, Options{DeadLetters: dl})
			if err != nil {
				t.Fatal(err)
			}
			ev := events.SQSEvent{Records: []events.SQSMessage{
				{MessageId: "m1", Body: "ok", EventSourceARN: "arn:aws:sqs:eu-west-1:123456789012:sap-events",
					Attributes: map[string]string{"ApproximateReceiveCount": "2", "SentTimestamp": "1764219600000"}},
				{MessageId: "m2", Body: "retry"},
				{MessageId: "m3", Body: "bad"},
				{MessageId: "m4", Body: "boom"},
			}}
			out, err := Invoke(context.Background(), h, ev)
			if err != nil {
				t.Fatal(err)
			}
			var resp events.SQSEventResponse
			if err := json.Unmarshal(out, &resp); err != nil {
				t.Fatal(err)
			}
			var failed []string
			for _, f := range resp.BatchItemFailures {
				failed = append(failed, f.ItemIdentifier)
			}
			if strings.Join(failed, ",") != strings.Join(tt.wantFailures, ",") {
				t.Errorf("batch item failures = %v, want %v", failed, tt.wantFailures)
			}
			if strings.Join(dead, ",") != strings.Join(tt.wantDead, ",") {
				t.Errorf("dead letters = %v, want %v", dead, tt.wantDead)
			}
			if got[0].DequeueCount != 2 || got[0].Queue != "sap-events" || !got[0].InsertionTime.Equal(time.UnixMilli(1764219600000)) {
				t.Errorf("first message = %+v", got[0])
			}
		})
	}
}

func TestScheduledEvent(t *testing.T) {
	var runs []trigger.Timer
	fail := false
	f := trigger.Function{Name: "inventorysync", Definition: def(t, `{"bindings":[{"type":"timerTrigger","direction":"in","name":"timer","schedule":"0 */15 * * * *"}]}`),
		Timer: trigger.TimerFunc(func(ctx context.Context, tm trigger.Timer) error {
			runs = append(runs, tm)
			if fail {
				return problem.New(problem.Unavailable, "SAP down")
			}
			return nil
		})}
	h, _ := Handler(f, Options{})
	ev := events.EventBridgeEvent{DetailType: "Scheduled Event", Source: "aws.events", Time: time.Now().Add(-5 * time.Minute)}
	if _, err := Invoke(context.Background(), h, ev); err != nil {
		t.Fatal(err)
	}
	fail = true
	ev.Time = time.Now()
	if _, err := Invoke(context.Background(), h, ev); err == nil || !strings.Contains(err.Error(), "SAP down") {
		t.Fatalf("a failed run must fail the invocation so Lambda retries it: %v", err)
	}
	if len(runs) != 2 || !runs[0].IsPastDue || runs[1].IsPastDue {
		t.Fatalf("runs = %+v", runs)
	}
}

func TestSelect(t *testing.T) {
	fns := []trigger.Function{{Name: "health"}, {Name: "orderpush"}}
	if f, err := Select(fns, "OrderPush"); err != nil || f.Name != "orderpush" {
		t.Fatalf("Select = %v, %v", f.Name, err)
	}
	if _, err := Select(fns, "nope"); err == nil || !strings.Contains(err.Error(), "health, orderpush") {
		t.Fatalf("err = %v", err)
	}
}

// On Lambda as on Azure, a function that declares its media types never sees another one.
func TestHTTPMediaTypes(t *testing.T) {
	for ct, want := range map[string]int{"application/json": http.StatusOK, "application/json; charset=utf-8": http.StatusOK,
		"application/jsonp": http.StatusUnsupportedMediaType, "": http.StatusUnsupportedMediaType} {
		ran := false
		f := trigger.Function{Name: "push", Accepts: []string{"application/json"},
			Definition: def(t, `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req"},{"type":"http","direction":"out","name":"res"}]}`),
			HTTP:       http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ran = true })}
		h, _ := Handler(f, Options{MaxBodyBytes: 1024})
		ev := events.APIGatewayV2HTTPRequest{RawPath: "/api/push", Body: `{}`, Headers: map[string]string{}}
		if ct != "" {
			ev.Headers["content-type"] = ct
		}
		out, err := Invoke(context.Background(), h, ev)
		if err != nil {
			t.Fatal(err)
		}
		var resp events.APIGatewayV2HTTPResponse
		_ = json.Unmarshal(out, &resp)
		if resp.StatusCode != want || ran != (want == http.StatusOK) {
			t.Errorf("Content-Type %q: status %d, ran %v: %s", ct, resp.StatusCode, ran, resp.Body)
		}
	}
}
