package orderpush

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The decoder tells neither where a mistyped member is in the request's terms nor that a member came twice (it
// keeps the last silently, so a proxy reading the first and this function would act on different orders). The
// request is walked token by token for both, only once it has decoded, so it is valid JSON of bounded depth.

// memberPath names, as errors[] does ("order/lines/1/quantity"), the member whose value the decoder was reading
// at offset (a *json.UnmarshalTypeError's Offset); "" for the body itself.
func memberPath(body []byte, offset int64) string {
	path := ""
	walkMembers(body, func(p string, before, after int64, _ bool) bool {
		if before < offset && offset <= after {
			path = p
			return false
		}
		return true
	})
	return path
}

// duplicateMember names the first member given twice in one object, names compared as the decoder matches them
// to fields (case-insensitively); "" when there is none.
func duplicateMember(body []byte) string {
	dup := ""
	walkMembers(body, func(p string, _, _ int64, again bool) bool {
		if again {
			dup = p
		}
		return !again
	})
	return dup
}

type jsonFrame struct {
	array   bool
	n       int    // values read so far, in an array
	key     string // the member being read, in an object
	keyNext bool   // the next token is a member name
	seen    map[string]bool
}

// walkMembers calls visit for each member name and value token with its path and the input offsets around it;
// again is true for a member name its object already had. visit returns false to stop.
func walkMembers(body []byte, visit func(path string, before, after int64, again bool) bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var stack []*jsonFrame
	for {
		before := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return
		}
		d, delim := tok.(json.Delim)
		if delim && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			continue
		}
		again := false
		if n := len(stack); n > 0 {
			switch top := stack[n-1]; {
			case top.array:
				top.n++
			case top.keyNext:
				top.key, top.keyNext = tok.(string), false
				f := foldName(top.key)
				again, top.seen[f] = top.seen[f], true
			default:
				top.keyNext = true
			}
		}
		if !visit(framePath(stack), before, dec.InputOffset(), again) {
			return
		}
		if delim {
			stack = append(stack, &jsonFrame{array: d == '[', keyNext: d == '{', seen: map[string]bool{}})
		}
	}
}

func framePath(stack []*jsonFrame) string {
	parts := make([]string, len(stack))
	for i, f := range stack {
		if f.array {
			parts[i] = strconv.Itoa(f.n - 1)
		} else {
			parts[i] = f.key
		}
	}
	return strings.Join(parts, "/")
}

// foldName folds a member name as encoding/json does to match it to a field (its fold.go).
func foldName(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < utf8.RuneSelf {
			b.WriteRune(unicode.ToUpper(r))
			continue
		}
		b.WriteRune(unicode.ToUpper(unicode.ToLower(r)))
	}
	return b.String()
}

// typeReason says what a mistyped member should have been, in JSON's words rather than Go's.
func typeReason(e *json.UnmarshalTypeError) string {
	want := "another JSON type"
	switch t := e.Type; {
	case t == reflect.TypeFor[json.Number]():
		want = "a number"
	case t.Kind() == reflect.String:
		want = "a string"
	case t.Kind() == reflect.Int:
		want = "a whole number"
	case t.Kind() == reflect.Slice:
		want = "an array"
	case t.Kind() == reflect.Struct, t.Kind() == reflect.Pointer:
		want = "an object"
	}
	return "must be " + want + ", not " + e.Value
}

// The decoder's two refusals that carry no offset, a member the request has no field for and a string that is no
// number given where a number goes, are found by walking the body against the Go types it decodes into.

// unknownMember names the first member that no field of its object's type takes; "" when there is none.
func unknownMember(body []byte, root reflect.Type) string {
	found := ""
	walkTyped(body, root, func(path string, t reflect.Type, _ json.Token, name bool) bool {
		if name && t == nil {
			found = path
		}
		return found == ""
	})
	return found
}

// badNumber names the first string value given for a json.Number that is no JSON number; "" when there is none.
func badNumber(body []byte, root reflect.Type) string {
	found := ""
	walkTyped(body, root, func(path string, t reflect.Type, tok json.Token, name bool) bool {
		if s, ok := tok.(string); ok && !name && t == reflect.TypeFor[json.Number]() && !isNumber(s) {
			found = path
		}
		return found == ""
	})
	return found
}

// isNumber is encoding/json's rule for a json.Number given as a string: exactly a JSON number literal.
func isNumber(s string) bool {
	return s != "" && (s[0] == '-' || s[0] >= '0' && s[0] <= '9') && json.Valid([]byte(s)) && strings.TrimSpace(s) == s
}

// walkTyped is walkMembers with the type each token decodes into: visit sees every member name (name true; t nil
// when the object's type has no such field) and every value (t nil inside a member nobody takes).
func walkTyped(body []byte, root reflect.Type, visit func(path string, t reflect.Type, tok json.Token, name bool) bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var frames []*jsonFrame
	var types []reflect.Type // the type of each open object or array
	for {
		tok, err := dec.Token()
		if err != nil {
			return
		}
		d, delim := tok.(json.Delim)
		if delim && (d == '}' || d == ']') {
			frames, types = frames[:len(frames)-1], types[:len(types)-1]
			continue
		}
		t := root
		if n := len(frames); n > 0 {
			switch top := frames[n-1]; {
			case top.array:
				top.n++
				t = elemType(types[n-1])
			case top.keyNext:
				top.key, top.keyNext = tok.(string), false
				ft := fieldType(types[n-1], top.key)
				if !visit(framePath(frames), ft, tok, true) {
					return
				}
				continue
			default:
				top.keyNext = true
				t = fieldType(types[n-1], top.key)
			}
		}
		if !visit(framePath(frames), t, tok, false) {
			return
		}
		if delim {
			frames = append(frames, &jsonFrame{array: d == '[', keyNext: d == '{', seen: map[string]bool{}})
			types = append(types, t)
		}
	}
}

// fieldType is the type of the field of struct type t (through pointers) that member name decodes into, matched
// as the decoder matches it; nil when t is no struct or has no such field.
func fieldType(t reflect.Type, name string) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "" {
			tag = f.Name
		}
		if f.IsExported() && tag != "-" && foldName(tag) == foldName(name) {
			return f.Type
		}
	}
	return nil
}

// elemType is the element type of slice type t (through pointers); nil otherwise.
func elemType(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Slice {
		return nil
	}
	return t.Elem()
}
