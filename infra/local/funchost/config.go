package funchost

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// hostConfig is the part of host.json the stand-in reads.
type hostConfig struct {
	FunctionTimeout string `json:"functionTimeout"`
	CustomHandler   struct {
		Description struct {
			DefaultExecutablePath string   `json:"defaultExecutablePath"`
			WorkingDirectory      string   `json:"workingDirectory"`
			Arguments             []string `json:"arguments"`
		} `json:"description"`
		EnableForwardingHTTPRequest bool `json:"enableForwardingHttpRequest"`
	} `json:"customHandler"`
	Extensions struct {
		HTTP struct {
			RoutePrefix *string `json:"routePrefix"`
		} `json:"http"`
		Queues struct {
			MaxDequeueCount    *int   `json:"maxDequeueCount"`
			VisibilityTimeout  string `json:"visibilityTimeout"`
			MaxPollingInterval string `json:"maxPollingInterval"`
			BatchSize          *int   `json:"batchSize"`
			MessageEncoding    string `json:"messageEncoding"`
		} `json:"queues"`
	} `json:"extensions"`
}

// appConfig is host.json read and defaulted the way the host does it.
type appConfig struct {
	root            string
	executable      string
	workingDir      string
	arguments       []string
	forwardHTTP     bool
	routePrefix     string
	functionTimeout time.Duration // 0 means none
	queues          queueConfig
}

type queueConfig struct {
	maxDequeueCount    int
	visibilityTimeout  time.Duration
	maxPollingInterval time.Duration
	batchSize          int
	base64             bool
}

// Defaults of the host and its queue extension; maxPollingInterval is the host's development value (its production
// default is one minute) because the stand-in runs locally.
const (
	defaultFunctionTimeout    = 5 * time.Minute
	defaultMaxDequeueCount    = 5
	defaultBatchSize          = 16
	defaultMaxPollingInterval = 2 * time.Second
)

func readHostConfig(root string) (appConfig, error) {
	var hc hostConfig
	b, err := os.ReadFile(filepath.Join(root, "host.json"))
	if err != nil {
		return appConfig{}, fmt.Errorf("reading host.json: %w", err)
	}
	if err := json.Unmarshal(b, &hc); err != nil {
		return appConfig{}, fmt.Errorf("parsing host.json: %w", err)
	}
	c := appConfig{
		root:        root,
		executable:  hc.CustomHandler.Description.DefaultExecutablePath,
		workingDir:  hc.CustomHandler.Description.WorkingDirectory,
		arguments:   hc.CustomHandler.Description.Arguments,
		forwardHTTP: hc.CustomHandler.EnableForwardingHTTPRequest,
		routePrefix: "api",
	}
	var problems []error
	if c.executable == "" {
		problems = append(problems, errors.New("host.json: customHandler.description.defaultExecutablePath is empty"))
	}
	if p := hc.Extensions.HTTP.RoutePrefix; p != nil {
		c.routePrefix = strings.Trim(*p, "/")
	}
	c.functionTimeout = defaultFunctionTimeout
	if hc.FunctionTimeout != "" {
		if strings.TrimSpace(hc.FunctionTimeout) == "-1" {
			c.functionTimeout = 0
		} else if d, err := parseTimeSpan(hc.FunctionTimeout); err != nil {
			problems = append(problems, fmt.Errorf("host.json functionTimeout: %w", err))
		} else {
			c.functionTimeout = d
		}
	}
	q := hc.Extensions.Queues
	c.queues = queueConfig{maxDequeueCount: defaultMaxDequeueCount, batchSize: defaultBatchSize,
		maxPollingInterval: defaultMaxPollingInterval, base64: true}
	if q.MaxDequeueCount != nil {
		if *q.MaxDequeueCount < 1 {
			problems = append(problems, errors.New("host.json queues.maxDequeueCount: must be at least 1"))
		}
		c.queues.maxDequeueCount = *q.MaxDequeueCount
	}
	if q.BatchSize != nil {
		if *q.BatchSize < 1 || *q.BatchSize > 32 {
			problems = append(problems, errors.New("host.json queues.batchSize: must be 1 to 32"))
		}
		c.queues.batchSize = *q.BatchSize
	}
	for _, f := range []struct {
		name, value string
		to          *time.Duration
	}{{"visibilityTimeout", q.VisibilityTimeout, &c.queues.visibilityTimeout},
		{"maxPollingInterval", q.MaxPollingInterval, &c.queues.maxPollingInterval}} {
		if f.value == "" {
			continue
		}
		d, err := parseTimeSpan(f.value)
		if err != nil {
			problems = append(problems, fmt.Errorf("host.json queues.%s: %w", f.name, err))
			continue
		}
		*f.to = d
	}
	switch strings.ToLower(q.MessageEncoding) {
	case "", "base64":
	case "none":
		c.queues.base64 = false
	default:
		problems = append(problems, fmt.Errorf("host.json queues.messageEncoding: %q is neither base64 nor none", q.MessageEncoding))
	}
	return c, errors.Join(problems...)
}

// parseTimeSpan reads a .NET TimeSpan as host.json writes it: "hh:mm:ss", "hh:mm:ss.fff" or "d.hh:mm:ss".
func parseTimeSpan(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "-") {
		return 0, fmt.Errorf("parsing %q: negative", s)
	}
	var days int
	rest := s
	if i := strings.Index(s, ":"); i > 0 {
		if j := strings.Index(s[:i], "."); j > 0 {
			d, err := strconv.Atoi(s[:j])
			if err != nil {
				return 0, fmt.Errorf("parsing the days of %q: %w", s, err)
			}
			days, rest = d, s[j+1:]
		}
	}
	parts := strings.Split(rest, ":")
	if len(parts) != 3 {
		return 0, fmt.Errorf("parsing %q: want hh:mm:ss", s)
	}
	h, err1 := strconv.Atoi(parts[0])
	m, err2 := strconv.Atoi(parts[1])
	sec, err3 := strconv.ParseFloat(parts[2], 64)
	if err := errors.Join(err1, err2, err3); err != nil || h < 0 || m < 0 || m > 59 || sec < 0 || sec >= 60 {
		return 0, fmt.Errorf("parsing %q: want hh:mm:ss", s)
	}
	d := time.Duration(days)*24*time.Hour + time.Duration(h)*time.Hour + time.Duration(m)*time.Minute +
		time.Duration(sec*float64(time.Second))
	return d, nil
}

// binding is one entry of function.json "bindings"; the fields the stand-in reads, the rest kept in raw.
type binding struct {
	Type       string   `json:"type"`
	Direction  string   `json:"direction"`
	Name       string   `json:"name"`
	AuthLevel  string   `json:"authLevel"`
	Methods    []string `json:"methods"`
	Route      string   `json:"route"`
	Schedule   string   `json:"schedule"`
	RunOnStart bool     `json:"runOnStartup"`
	UseMonitor *bool    `json:"useMonitor"`
	QueueName  string   `json:"queueName"`
	Path       string   `json:"path"`
	Connection string   `json:"connection"`
	DataType   string   `json:"dataType"`
}

func (b binding) in() bool  { return strings.EqualFold(b.Direction, "in") }
func (b binding) out() bool { return strings.EqualFold(b.Direction, "out") }
func (b binding) is(t string) bool {
	return strings.EqualFold(b.Type, t)
}

type function struct {
	name     string
	trigger  binding
	inputs   []binding // the trigger first
	outputs  []binding
	disabled bool
	retry    *retryPolicy
}

type functionJSON struct {
	Bindings []binding       `json:"bindings"`
	Disabled bool            `json:"disabled"`
	Retry    *retryPolicyDoc `json:"retry"`
}

// retryPolicyDoc is function.json "retry".
type retryPolicyDoc struct {
	Strategy        string `json:"strategy"`
	MaxRetryCount   int    `json:"maxRetryCount"`
	DelayInterval   string `json:"delayInterval"`
	MinimumInterval string `json:"minimumInterval"`
	MaximumInterval string `json:"maximumInterval"`
}

// retryPolicy is a function-level retry policy: fixedDelay or exponentialBackoff; maxRetryCount -1 means forever.
type retryPolicy struct {
	maxRetryCount int
	fixed         time.Duration // fixedDelay
	min, max      time.Duration // exponentialBackoff
}

func parseRetry(d *retryPolicyDoc) (*retryPolicy, error) {
	if d == nil {
		return nil, nil
	}
	if d.MaxRetryCount < -1 {
		return nil, fmt.Errorf("retry.maxRetryCount %d: want -1 (forever) or more", d.MaxRetryCount)
	}
	p := &retryPolicy{maxRetryCount: d.MaxRetryCount}
	var err error
	switch strings.ToLower(d.Strategy) {
	case "fixeddelay":
		if p.fixed, err = parseTimeSpan(d.DelayInterval); err != nil {
			return nil, fmt.Errorf("retry.delayInterval: %w", err)
		}
	case "exponentialbackoff":
		if p.min, err = parseTimeSpan(d.MinimumInterval); err != nil {
			return nil, fmt.Errorf("retry.minimumInterval: %w", err)
		}
		if p.max, err = parseTimeSpan(d.MaximumInterval); err != nil {
			return nil, fmt.Errorf("retry.maximumInterval: %w", err)
		}
		if p.max < p.min {
			return nil, errors.New("retry: maximumInterval is below minimumInterval")
		}
	default:
		return nil, fmt.Errorf("retry.strategy %q: want fixedDelay or exponentialBackoff", d.Strategy)
	}
	return p, nil
}

// delay is the wait before retry n (1 for the first retry).
func (p *retryPolicy) delay(n int) time.Duration {
	if p.fixed > 0 || p.max == 0 {
		return p.fixed
	}
	d := p.min
	for i := 1; i < n && d < p.max; i++ {
		d *= 2
	}
	return min(d, p.max)
}

// exhausted says whether retry n is past the policy.
func (p *retryPolicy) exhausted(n int) bool { return p.maxRetryCount >= 0 && n > p.maxRetryCount }

// readFunctions reads every <root>/<name>/function.json, sorted by name.
func readFunctions(root string) ([]*function, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("reading the app folder: %w", err)
	}
	var fns []*function
	var problems []error
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		p := filepath.Join(root, e.Name(), "function.json")
		b, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			problems = append(problems, fmt.Errorf("reading %s: %w", p, err))
			continue
		}
		fn, err := parseFunction(e.Name(), b)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		fns = append(fns, fn)
	}
	sort.Slice(fns, func(i, j int) bool { return fns[i].name < fns[j].name })
	return fns, errors.Join(problems...)
}

var triggerTypes = []string{"httpTrigger", "timerTrigger", "queueTrigger"}

func parseFunction(name string, b []byte) (*function, error) {
	var doc functionJSON
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("parsing %s/function.json: %w", name, err)
	}
	retry, err := parseRetry(doc.Retry)
	if err != nil {
		return nil, fmt.Errorf("%s/function.json: %w", name, err)
	}
	fn := &function{name: name, disabled: doc.Disabled, retry: retry}
	var triggers int
	for _, bd := range doc.Bindings {
		switch {
		case strings.HasSuffix(strings.ToLower(bd.Type), "trigger"):
			triggers++
			fn.trigger = bd
			fn.inputs = append([]binding{bd}, fn.inputs...)
		case bd.in():
			fn.inputs = append(fn.inputs, bd)
		case bd.out():
			fn.outputs = append(fn.outputs, bd)
		default:
			return nil, fmt.Errorf("%s/function.json: binding %q has direction %q", name, bd.Name, bd.Direction)
		}
	}
	if triggers != 1 {
		return nil, fmt.Errorf("%s/function.json: %d triggers, want exactly one", name, triggers)
	}
	known := false
	for _, t := range triggerTypes {
		known = known || fn.trigger.is(t)
	}
	if !known {
		return nil, fmt.Errorf("%s/function.json: the stand-in does not support trigger type %q", name, fn.trigger.Type)
	}
	for _, o := range fn.outputs {
		if !o.is("http") && !o.is("queue") && !o.is("blob") {
			return nil, fmt.Errorf("%s/function.json: the stand-in does not support output type %q", name, o.Type)
		}
	}
	for _, in := range fn.inputs[1:] {
		return nil, fmt.Errorf("%s/function.json: the stand-in does not support input binding %q (%s)", name, in.Name, in.Type)
	}
	return fn, nil
}

// isHTTPInAndOut is the host's rule for forwarding: the only bindings are one httpTrigger and one http output.
func (f *function) isHTTPInAndOut() bool {
	return f.trigger.is("httpTrigger") && len(f.inputs) == 1 && len(f.outputs) == 1 && f.outputs[0].is("http")
}

var settingRef = regexp.MustCompile(`%([^%]+)%`)

// resolveSettings replaces each %NAME% in s with the app setting NAME; a missing setting is an error, as in the host.
func resolveSettings(s string, settings map[string]string) (string, error) {
	var missing []string
	out := settingRef.ReplaceAllStringFunc(s, func(m string) string {
		name := m[1 : len(m)-1]
		v, ok := settings[name]
		if !ok {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("resolving %q: app setting %s not set", s, strings.Join(missing, ", "))
	}
	return out, nil
}
