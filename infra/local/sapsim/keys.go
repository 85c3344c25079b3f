package sapsim

import (
	"fmt"
	"strings"
	"time"
)

// splitResource splits "A_SalesOrder('1')/to_Item" into set, key predicate and navigation property.
func splitResource(res string) (set, key, nav string, err error) {
	if i := strings.IndexByte(res, '('); i >= 0 {
		j := strings.LastIndexByte(res, ')')
		if j < i {
			return "", "", "", &queryError{"Invalid key predicate"}
		}
		set, key = res[:i], res[i:j+1]
		rest := res[j+1:]
		if rest != "" {
			nav, _ = strings.CutPrefix(rest, "/")
			if nav == rest || strings.Contains(nav, "/") {
				return "", "", "", &queryError{fmt.Sprintf("Resource segment '%s' is not supported", rest)}
			}
		}
		return set, key, nav, nil
	}
	if strings.Contains(res, "/") {
		return "", "", "", &queryError{fmt.Sprintf("Resource '%s' is not supported", res)}
	}
	return res, "", "", nil
}

// parseKeys reads "('1')" or "(A='x',B=datetime'...')" into raw key values.
func parseKeys(et *entityType, pred string) (map[string]string, error) {
	inner := strings.TrimSuffix(strings.TrimPrefix(pred, "("), ")")
	out := map[string]string{}
	var parts []string
	var cur strings.Builder
	inQuote := false
	for i := 0; i < len(inner); i++ {
		c := inner[i]
		switch {
		case c == '\'':
			inQuote = !inQuote
			cur.WriteByte(c)
		case c == ',' && !inQuote:
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	parts = append(parts, cur.String())
	for _, p := range parts {
		name, val, named := strings.Cut(p, "=")
		if !named {
			if len(et.Keys) != 1 {
				return nil, &queryError{"Invalid key predicate: name every key"}
			}
			name, val = et.Keys[0], p
		}
		if i := strings.IndexByte(val, '\''); i > 0 { // datetime'...'
			val = val[i:]
		}
		if len(val) < 2 || val[0] != '\'' || val[len(val)-1] != '\'' {
			return nil, &queryError{fmt.Sprintf("Invalid key predicate: %s", p)}
		}
		out[strings.TrimSpace(name)] = strings.ReplaceAll(val[1:len(val)-1], "''", "'")
	}
	for _, k := range et.Keys {
		if _, ok := out[k]; !ok {
			return nil, &queryError{fmt.Sprintf("Invalid key predicate: key property '%s' is missing", k)}
		}
	}
	if len(out) != len(et.Keys) {
		return nil, &queryError{"Invalid key predicate: unknown key property"}
	}
	return out, nil
}

func keyValue(v any) string {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format("2006-01-02T15:04:05")
	case string:
		return x
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

func (h *handler) lookup(src *source, pred string) (record, error) {
	keys, err := parseKeys(src.et, pred)
	if err != nil {
		return nil, err
	}
	match := func(r record) bool {
		for _, k := range src.et.Keys {
			want, ok := keys[k]
			if ok && keyValue(r[k]) != want {
				return false
			}
		}
		return true
	}
	if src.find != nil {
		i, ok := src.find(keys)
		if !ok || i < 0 || i >= src.n {
			return nil, errNotFound
		}
		if r := src.at(i); match(r) {
			return r, nil
		}
		return nil, errNotFound
	}
	for i := range src.n {
		if r := src.at(i); match(r) {
			return r, nil
		}
	}
	return nil, errNotFound
}
