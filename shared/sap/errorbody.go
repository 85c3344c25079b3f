package sap

import (
	"bytes"
	"encoding/json"
)

// SAP writes its error JSON in several shapes, and a strict decoder that fails on one odd member loses the code
// with it, turning a business rejection (a 400 with a code) into an unreadable answer that is retried. So the
// body is read member by member, each one on its own: an unexpected type costs that member only.
//
// The shapes read (sources in errorbody_test.go):
//   - SAP Gateway, OData V2: "message" is {"lang","value"}; innererror carries application, transactionid,
//     timestamp, Error_Resolution and errordetails, an array whose "message" is a plain string;
//   - CAP behind its OData V2 adapter: the same, but each errordetails "message" is {"lang","value"} too, and a
//     detail may carry booleans, arrays and numbers (transition, additionalTargets, @Common.numericSeverity);
//   - OData V4 (CAP, and SAP Gateway / RAP in S/4HANA): "message" is a string, "target" and "details" sit
//     beside it, and Gateway's technical data is in innererror.ErrorDetails under @SAP__common.* names;
//   - errordetails as {"errordetail":[...]} (a conversion from the XML form), a numeric "code", members that
//     are null or missing.

// errorObject is one JSON object, its members still undecoded.
type errorObject map[string]json.RawMessage

func asObject(raw json.RawMessage) errorObject {
	var o errorObject
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &o) != nil {
		return nil
	}
	return o
}

// text reads a member SAP writes as a string, as {"lang","value"} or as a number; lang is the language when the
// member says. Anything else (null, a boolean, an array, a missing member) reads as "".
func text(raw json.RawMessage) (value, lang string) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", ""
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s, ""
		}
	case '{':
		o := asObject(raw)
		v, _ := scalar(o["value"])
		l, _ := scalar(o["lang"])
		return v, l
	default:
		return scalar(raw)
	}
	return "", ""
}

// scalar reads a string or a number, as written; nothing nested.
func scalar(raw json.RawMessage) (string, string) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] == '{' || raw[0] == '[' {
		return "", ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, ""
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String(), ""
	}
	return "", ""
}

func str(raw json.RawMessage) string {
	v, _ := text(raw)
	return v
}

// decodeErrorBody fills e from SAP's error JSON. It reports false when the body holds no "error" object with a
// code or a message, so the caller keeps an excerpt of whatever it is instead.
func decodeErrorBody(body []byte, e *Error) bool {
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	top := asObject(bytes.TrimSpace(body))
	eo := asObject(bytes.TrimSpace(top["error"]))
	if eo == nil {
		return false
	}
	e.Code = str(eo["code"])
	e.Message, e.Lang = text(eo["message"])
	e.Target = str(eo["target"])

	inner := asObject(bytes.TrimSpace(eo["innererror"]))
	app := asObject(inner["application"])
	e.ComponentID, e.ServiceID = str(app["component_id"]), str(app["service_id"])
	e.TransactionID, e.Timestamp = str(inner["transactionid"]), str(inner["timestamp"])
	e.SAPNote = str(asObject(inner["Error_Resolution"])["SAP_Note"])
	// OData V4 from SAP Gateway: the same facts as annotations, in innererror.ErrorDetails or on the error itself.
	for _, v4 := range []errorObject{asObject(inner["ErrorDetails"]), eo} {
		app := asObject(v4["@SAP__common.Application"])
		fill(&e.ComponentID, str(app["ComponentId"]))
		fill(&e.ServiceID, str(app["ServiceId"]))
		fill(&e.TransactionID, str(v4["@SAP__common.TransactionId"]))
		fill(&e.Timestamp, str(v4["@SAP__common.Timestamp"]))
		fill(&e.SAPNote, str(asObject(v4["@SAP__common.ErrorResolution"])["Note"]))
	}

	e.Details = append(details(inner["errordetails"]), details(eo["details"])...)
	if e.Message == "" {
		// A code with no message of its own: say what the first detail says rather than nothing.
		for _, d := range e.Details {
			if d.Message != "" {
				e.Message = d.Message
				break
			}
		}
	}
	return e.Code != "" || e.Message != ""
}

func fill(dst *string, v string) {
	if *dst == "" {
		*dst = v
	}
}

// details reads a list of messages: an array, {"errordetail": array or object}, or a single object. Members
// that are not objects are skipped, except a bare string, which is a message without a code.
func details(raw json.RawMessage) []ErrorDetail {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil
	}
	if raw[0] == '{' {
		o := asObject(raw)
		if wrapped, ok := o["errordetail"]; ok {
			return details(wrapped)
		}
		if d, ok := detail(raw); ok {
			return []ErrorDetail{d}
		}
		return nil
	}
	var items []json.RawMessage
	if raw[0] != '[' || json.Unmarshal(raw, &items) != nil {
		return nil
	}
	var out []ErrorDetail
	for _, it := range items {
		if d, ok := detail(it); ok {
			out = append(out, d)
		}
	}
	return out
}

func detail(raw json.RawMessage) (ErrorDetail, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		s := str(raw)
		return ErrorDetail{Message: s}, s != ""
	}
	o := asObject(raw)
	if o == nil {
		return ErrorDetail{}, false
	}
	d := ErrorDetail{Code: str(o["code"]), PropertyRef: str(o["propertyref"]), Target: str(o["target"])}
	d.Message, _ = text(o["message"])
	d.Severity = severity(o)
	return d, d.Code != "" || d.Message != ""
}

// severity is Gateway's "severity" word, or the word for OData V4's numeric severity (1 success, 2 info,
// 3 warning, 4 error: the Common vocabulary's, as CAP's V2 adapter maps it).
func severity(o errorObject) string {
	words := map[string]string{"1": "success", "2": "info", "3": "warning", "4": "error"}
	for _, name := range []string{"severity", "@SAP__common.Severity", "@Common.Severity",
		"@Common.numericSeverity", "@SAP__common.numericSeverity", "numericSeverity"} {
		if s := str(o[name]); s != "" {
			if w, ok := words[s]; ok {
				return w
			}
			return s
		}
	}
	return ""
}
