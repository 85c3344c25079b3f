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
