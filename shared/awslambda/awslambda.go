// Package awslambda runs the app's functions on AWS Lambda through aws-lambda-go: API Gateway v2 HTTP events (HTTP
// APIs and function URLs) for HTTP functions, SQS events with partial batch failure responses for queue functions,
// and EventBridge scheduled events for timers. Only main imports it.
package awslambda

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/trigger"
)

// Options configure the adapter.
type Options struct {
	Logger      *slog.Logger
	DeadLetters trigger.DeadLetterer
	// MaxBodyBytes bounds HTTP request bodies (HTTP_MAX_BODY_BYTES) as on Azure: a larger one is answered 413.
	// 8 MiB when zero.
	MaxBodyBytes int64
}

// Select finds the function named by _HANDLER (case-insensitively), failing loudly with the names it knows.
func Select(fns []trigger.Function, name string) (trigger.Function, error) {
	var names []string
	for _, f := range fns {
		if strings.EqualFold(f.Name, name) {
			return f, nil
		}
		names = append(names, f.Name)
	}
	return trigger.Function{}, fmt.Errorf("selecting the Lambda function: _HANDLER=%q names none of %s", name, strings.Join(names, ", "))
}

// Handler adapts one function to a lambda.Handler for its trigger's event type.
func Handler(f trigger.Function, opts Options) (lambda.Handler, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = defaultMaxBodyBytes
	}
	a := adapter{f: f, opts: opts}
	switch {
	case f.HTTP != nil:
		return lambda.NewHandler(a.http), nil
	case f.Queue != nil:
		return lambda.NewHandler(a.sqs), nil
	default:
		return lambda.NewHandler(a.schedule), nil
	}
}

// Start runs the function named by name until the Lambda runtime stops the process.
func Start(ctx context.Context, fns []trigger.Function, name string, opts Options) error {
	f, err := Select(fns, name)
	if err != nil {
		return err
	}
	h, err := Handler(f, opts)
	if err != nil {
		return err
	}
	lambda.StartWithOptions(h, lambda.WithContext(ctx))
	return nil
}

// defaultMaxBodyBytes is HTTP_MAX_BODY_BYTES's default, as in the Azure adapter.
const defaultMaxBodyBytes = 8 << 20

type adapter struct {
	f    trigger.Function
	opts Options
}

func (a adapter) begin(ctx context.Context) context.Context {
	id := ""
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		id = lc.AwsRequestID
	}
	return trigger.WithInvocation(ctx, trigger.Invocation{ID: id, Function: a.f.Name})
}

func (a adapter) http(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	ctx = a.begin(ctx)
	r, err := toRequest(ctx, ev)
	if err == nil && r.ContentLength > a.opts.MaxBodyBytes {
		err = tooLarge(a.opts.MaxBodyBytes)
	}
	if err == nil {
		err = trigger.CheckBody(a.f.Accepts, r.Header)
	}
	if err != nil {
		if k := problem.KindOf(err); k != problem.TooLarge && k != problem.UnsupportedMediaType {
			err = problem.Wrap(problem.Invalid, err, "reading the API Gateway event")
		}
		rec := trigger.NewRecorder()
		problem.Write(rec, err, ev.RequestContext.RequestID)
		return toResponse(rec), nil
	}
	rec := trigger.NewRecorder()
	a.f.HTTP.ServeHTTP(rec, r)
	return toResponse(rec), nil
}

func tooLarge(limit int64) error {
	return problem.New(problem.TooLarge, "the request body is over the limit of %d bytes", limit)
}

func toRequest(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(ev.Body)
		if err != nil {
			return nil, fmt.Errorf("decoding base64 body: %w", err)
		}
		body = b
	}
	path := ev.RawPath
	if path == "" {
		path = ev.RequestContext.HTTP.Path
	}
	// Path and query only: the host stays the request's own (r.Host), never part of a URL the app might follow.
	u := &url.URL{Path: path, RawQuery: ev.RawQueryString}
	method := ev.RequestContext.HTTP.Method
	if method == "" {
		method = http.MethodGet
	}
	r, err := http.NewRequestWithContext(ctx, method, "/", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("building request: %w", err)
	}
	// Set, not parsed from u.String(): a raw path such as "//evil.example/x" would parse back as a host.
	r.URL = u
	r.RequestURI = u.RequestURI()
	r.Host = ev.RequestContext.DomainName
	for k, v := range ev.Headers {
		// API Gateway v2 joins repeated headers with commas.
		r.Header.Set(k, v)
	}
	if len(ev.Cookies) > 0 {
		r.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	r.RemoteAddr = ev.RequestContext.HTTP.SourceIP
	for k, v := range ev.PathParameters {
		r.SetPathValue(k, v)
	}
	return r, nil
}

func toResponse(rec *trigger.Recorder) events.APIGatewayV2HTTPResponse {
	resp := events.APIGatewayV2HTTPResponse{StatusCode: rec.Status(), Headers: map[string]string{}}
	for k, v := range rec.Header() {
		if strings.EqualFold(k, "Set-Cookie") {
			resp.Cookies = append(resp.Cookies, v...)
			continue
		}
		resp.Headers[k] = strings.Join(v, ",")
	}
	b := rec.Body.Bytes()
	if utf8.Valid(b) {
		resp.Body = string(b)
	} else {
		resp.Body, resp.IsBase64Encoded = base64.StdEncoding.EncodeToString(b), true
	}
	return resp
}

// sqs handles a batch: successes and permanent failures (dead-lettered first) are acknowledged; retryable failures
// are reported as batch item failures so SQS redelivers only those, and after maxReceiveCount moves them to the
// queue's dead-letter queue.
func (a adapter) sqs(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	ctx = a.begin(ctx)
	var resp events.SQSEventResponse
	for _, rec := range ev.Records {
		m := trigger.Message{ID: rec.MessageId, Body: []byte(rec.Body), Queue: queueName(rec.EventSourceARN)}
		if n, err := strconv.Atoi(rec.Attributes["ApproximateReceiveCount"]); err == nil {
			m.DequeueCount = n
		}
		if ms, err := strconv.ParseInt(rec.Attributes["SentTimestamp"], 10, 64); err == nil {
			m.InsertionTime = time.UnixMilli(ms).UTC()
		}
		if err := a.message(ctx, m); err != nil {
			a.opts.Logger.ErrorContext(ctx, "message failed; SQS will redeliver it", "message_id", m.ID, "err", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
		}
	}
	return resp, nil
}

func (a adapter) message(ctx context.Context, m trigger.Message) error {
	err := a.f.Queue.HandleMessage(ctx, m)
	if err == nil {
		return nil
	}
	if problem.Retryable(err) || a.opts.DeadLetters == nil {
		return err
	}
	if dlErr := a.opts.DeadLetters.DeadLetter(ctx, a.f.Name, m, err); dlErr != nil {
		return fmt.Errorf("dead-lettering message %s: %w", m.ID, dlErr)
	}
	a.opts.Logger.WarnContext(ctx, "message dead-lettered", "message_id", m.ID, "err", err)
	return nil
}

func queueName(arn string) string {
	if i := strings.LastIndexByte(arn, ':'); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

// schedule runs a timer from an EventBridge scheduled event. A run that starts more than a minute after the
// event's time is past due, as the Functions host would say.
func (a adapter) schedule(ctx context.Context, ev events.EventBridgeEvent) error {
	ctx = a.begin(ctx)
	now := time.Now().UTC()
	t := trigger.Timer{Now: now}
	if !ev.Time.IsZero() {
		t.IsPastDue = now.Sub(ev.Time) > time.Minute
	}
	if err := a.f.Timer.HandleTimer(ctx, t); err != nil {
		return fmt.Errorf("running timer %s: %w", a.f.Name, err)
	}
	return nil
}

// Invoke runs a handler on a raw event, for tests and local replays.
func Invoke(ctx context.Context, h lambda.Handler, event any) ([]byte, error) {
	b, err := json.Marshal(event)
	if err != nil {
		return nil, err
	}
	return h.Invoke(ctx, b)
}
