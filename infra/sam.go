package infra

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// SAMHandlers are the handler names the Lambda functions must use, one function each (the executable
// reads _HANDLER, which Lambda sets from the function's Handler).
var SAMHandlers = []string{"health", "inventorysync", "openapi", "orderpush", "orderstatus", "statusupdates"}

// pseudoParameters are the names !Ref and ${} may use without declaring them.
var pseudoParameters = map[string]bool{
	"AWS::AccountId": true, "AWS::NotificationARNs": true, "AWS::NoValue": true, "AWS::Partition": true,
	"AWS::Region": true, "AWS::StackId": true, "AWS::StackName": true, "AWS::URLSuffix": true,
}

// SAMTemplate is a SAM template in its JSON form (see infra/tools/cfn-json.js).
type SAMTemplate map[string]any

// ParseSAMJSON decodes the JSON that cfn-json.js prints.
func ParseSAMJSON(data []byte) (SAMTemplate, error) {
	var t SAMTemplate
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, fmt.Errorf("decoding SAM template JSON: %w", err)
	}
	return t, nil
}

func obj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// getAttTarget returns the logical id and attribute of a {"Fn::GetAtt": [id, attr]} value.
func getAttTarget(v any) (string, string) {
	list, _ := obj(v)["Fn::GetAtt"].([]any)
	if len(list) != 2 {
		return "", ""
	}
	return str(list[0]), str(list[1])
}

var subVar = regexp.MustCompile(`\$\{([^}!][^}]*)\}`)

// SAMProblems checks the template's shape for this product: the runtime, one function per handler with
// its trigger, the SQS queue's partial-failure reporting and dead-letter queue, string-valued environment
// variables, and that every Ref, GetAtt and ${} names a parameter, resource or pseudo parameter.
func SAMProblems(t SAMTemplate) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	if str(t["Transform"]) != "AWS::Serverless-2016-10-31" {
		add("Transform is %q, want AWS::Serverless-2016-10-31", t["Transform"])
	}
	params := obj(t["Parameters"])
	resources := obj(t["Resources"])
	globals := obj(obj(t["Globals"])["Function"])
	if rt := str(globals["Runtime"]); rt != "provided.al2023" {
		add("Globals.Function.Runtime is %q, want provided.al2023 (the Go executable named bootstrap)", rt)
	}
	for name, v := range obj(obj(globals["Environment"])["Variables"]) {
		if _, isString := v.(string); !isString && obj(v) == nil {
			add("environment variable %s is %T; Lambda takes strings (quote it)", name, v)
		}
	}

	resourceType := func(id string) string { return str(obj(resources[id])["Type"]) }
	byHandler := map[string]string{}
	for id, r := range resources {
		if str(obj(r)["Type"]) != "AWS::Serverless::Function" {
			continue
		}
		h := str(obj(obj(r)["Properties"])["Handler"])
		if prev, dup := byHandler[h]; dup {
			add("functions %s and %s share handler %q", prev, id, h)
		}
		byHandler[h] = id
		if !slices.Contains(SAMHandlers, h) {
			add("function %s has handler %q, not one of %v", id, h, SAMHandlers)
		}
	}
	events := func(h string) []map[string]any {
		var out []map[string]any
		for _, e := range obj(obj(obj(resources[byHandler[h]])["Properties"])["Events"]) {
			out = append(out, obj(e))
		}
		return out
	}
	for _, h := range SAMHandlers {
		if _, ok := byHandler[h]; !ok {
			add("no function with handler %q", h)
		}
	}

	httpRoute := func(h, method, path string) {
		for _, e := range events(h) {
			p := obj(e["Properties"])
			if str(e["Type"]) == "HttpApi" && strings.EqualFold(str(p["Method"]), method) && str(p["Path"]) == path {
				if api := str(obj(p["ApiId"])["Ref"]); api != "" && resourceType(api) != "AWS::Serverless::HttpApi" {
					add("handler %s: ApiId %s is not an AWS::Serverless::HttpApi", h, api)
				}
				return
			}
		}
		add("handler %s: no HttpApi event %s %s", h, method, path)
	}
	if _, ok := byHandler["health"]; ok {
		httpRoute("health", "GET", "/api/health")
	}
	if _, ok := byHandler["orderpush"]; ok {
		httpRoute("orderpush", "POST", "/api/orders")
	}

	if id, ok := byHandler["statusupdates"]; ok {
		found := false
		for _, e := range events("statusupdates") {
			if str(e["Type"]) != "SQS" {
				continue
			}
			found = true
			p := obj(e["Properties"])
			types, _ := p["FunctionResponseTypes"].([]any)
			if !slices.Contains(types, any("ReportBatchItemFailures")) {
				add("handler statusupdates: SQS event without FunctionResponseTypes [ReportBatchItemFailures]; one failure would redeliver the whole batch")
			}
			q, attr := getAttTarget(p["Queue"])
			if q == "" || attr != "Arn" || resourceType(q) != "AWS::SQS::Queue" {
				add("handler statusupdates: Queue is not !GetAtt <AWS::SQS::Queue>.Arn")
				continue
			}
			qp := obj(obj(resources[q])["Properties"])
			redrive := obj(qp["RedrivePolicy"])
			dlq, _ := getAttTarget(redrive["deadLetterTargetArn"])
			if dlq == "" || resourceType(dlq) != "AWS::SQS::Queue" {
				add("queue %s: no RedrivePolicy to a dead-letter AWS::SQS::Queue", q)
			}
			if n, _ := redrive["maxReceiveCount"].(float64); n < 1 {
				add("queue %s: RedrivePolicy without maxReceiveCount", q)
			}
			// AWS asks for a visibility timeout of at least six times the function timeout, so a message is
			// not handed to a second instance while the first still works on it.
			timeout, _ := obj(obj(resources[id])["Properties"])["Timeout"].(float64)
			if timeout == 0 {
				timeout, _ = globals["Timeout"].(float64)
			}
			if vis, _ := qp["VisibilityTimeout"].(float64); timeout > 0 && vis < 6*timeout {
				add("queue %s: VisibilityTimeout %v is under six times the function timeout %v", q, vis, timeout)
			}
		}
		if !found {
			add("handler statusupdates: no SQS event")
		}
	}
	if _, ok := byHandler["inventorysync"]; ok {
		found := false
		for _, e := range events("inventorysync") {
			if ty := str(e["Type"]); ty == "Schedule" || ty == "ScheduleV2" {
				found = true
			}
		}
		if !found {
			add("handler inventorysync: no Schedule or ScheduleV2 event")
		}
	}

	declared := func(name string) bool {
		return params[name] != nil || resources[name] != nil || pseudoParameters[name]
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, child := range x {
				switch k {
				case "Ref":
					if n := str(child); !declared(n) {
						add("%s: Ref to undeclared %q", path, n)
					}
				case "Fn::GetAtt":
					if id, _ := getAttTarget(x); resources[id] == nil {
						add("%s: GetAtt on undeclared resource %q", path, id)
					}
				case "Fn::Sub":
					s := str(child)
					var local map[string]any // Fn::Sub [string, {name: value}] declares names of its own
					if list, ok := child.([]any); ok && len(list) > 0 {
						s = str(list[0])
						if len(list) > 1 {
							local = obj(list[1])
						}
					}
					for _, m := range subVar.FindAllStringSubmatch(s, -1) {
						// ${} inside a {{resolve:...}} dynamic reference is substituted too, so no exception.
						if name, _, _ := strings.Cut(m[1], "."); !declared(name) && local[name] == nil {
							add("%s: ${%s} names nothing declared", path, m[1])
						}
					}
				}
				walk(path+"."+k, child)
			}
		case []any:
			for i, child := range x {
				walk(fmt.Sprintf("%s[%d]", path, i), child)
			}
		}
	}
	walk("", map[string]any(t))
	sort.Strings(problems)
	return problems
}
