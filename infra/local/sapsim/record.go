package sapsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

// record is one entity: property name → value. Values are string (Edm.String, Edm.Decimal as canonical text,
// Edm.Time as "PTxxHxxMxxS", Edm.Guid), bool, time.Time (Edm.DateTime, Edm.DateTimeOffset) or nil. Navigation
// properties hold []record (many) or record (one). A property left out takes SAP's empty value on output.
type record map[string]any

// encoder writes records in SAP's OData V2 JSON shape.
type encoder struct {
	root string // scheme://host/sap/opu/odata/sap/<SERVICE>
}

func (e *encoder) keyPredicate(et *entityType, r record) string {
	var b strings.Builder
	b.WriteString("(")
	for i, k := range et.Keys {
		if i > 0 {
			b.WriteString(",")
		}
		if len(et.Keys) > 1 {
			b.WriteString(k + "=")
		}
		p, _ := et.prop(k)
		b.WriteString(literalOf(p, r[k]))
	}
	b.WriteString(")")
	return b.String()
}

func literalOf(p prop, v any) string {
	switch p.Type {
	case edmDateTime:
		if t, ok := v.(time.Time); ok {
			return "datetime'" + url.PathEscape(t.UTC().Format("2006-01-02T15:04:05")) + "'"
		}
	}
	s, _ := v.(string)
	return "'" + url.PathEscape(strings.ReplaceAll(s, "'", "''")) + "'"
}

// appendRecord writes one entity with __metadata, its properties in EDMX order (only those in sel when set), and
// its navigation properties: expanded when present in the record and asked for, deferred otherwise.
func (e *encoder) appendRecord(b []byte, et *entityType, r record, sel map[string]bool, expand map[string]bool) []byte {
	uri := e.root + "/" + et.Set + e.keyPredicate(et, r)
	b = append(b, `{"__metadata":{"id":`...)
	b = strconv.AppendQuote(b, uri)
	b = append(b, `,"uri":`...)
	b = strconv.AppendQuote(b, uri)
	b = append(b, `,"type":"`...)
	b = append(b, et.Service+"."+et.Name...)
	b = append(b, '"')
	if et.ETagProp != "" {
		b = append(b, `,"etag":`...)
		b = appendJSONString(b, etagOf(et, r))
	}
	b = append(b, '}')
	for _, p := range et.Props {
		if sel != nil && !sel[p.Name] {
			continue
		}
		b = append(b, ',', '"')
		b = append(b, p.Name...)
		b = append(b, '"', ':')
		b = appendValue(b, p, r[p.Name])
	}
	for _, n := range et.Navs {
		if sel != nil && !sel[n.Name] && !expand[n.Name] {
			continue
		}
		b = append(b, ',', '"')
		b = append(b, n.Name...)
		b = append(b, '"', ':')
		v, has := r[n.Name]
		if !expand[n.Name] || !has {
			b = append(b, `{"__deferred":{"uri":`...)
			b = strconv.AppendQuote(b, uri+"/"+n.Name)
			b = append(b, "}}"...)
			continue
		}
		target := typesByName[n.Target]
		sub := subExpand(expand, n.Name)
		if n.Many {
			rows, _ := v.([]record)
			b = append(b, `{"results":[`...)
			for i, cr := range rows {
				if i > 0 {
					b = append(b, ',')
				}
				b = e.appendRecord(b, target, cr, nil, sub)
			}
			b = append(b, "]}"...)
		} else if cr, ok := v.(record); ok && cr != nil {
			b = e.appendRecord(b, target, cr, nil, sub)
		} else {
			b = append(b, "null"...)
		}
	}
	return append(b, '}')
}

// subExpand turns {"to_Customer/to_CustomerSalesArea"} into {"to_CustomerSalesArea"} below to_Customer.
func subExpand(expand map[string]bool, name string) map[string]bool {
	var out map[string]bool
	for k := range expand {
		if rest, ok := strings.CutPrefix(k, name+"/"); ok {
			if out == nil {
				out = map[string]bool{}
			}
			out[rest] = true
		}
	}
	return out
}

func etagOf(et *entityType, r record) string {
	switch v := r[et.ETagProp].(type) {
	case time.Time:
		// SAP: W/"datetimeoffset'2019-03-18T07%3A59%3A57.8555850Z'"
		return `W/"datetimeoffset'` + url.QueryEscape(v.UTC().Format("2006-01-02T15:04:05.0000000Z")) + `'"`
	case string:
		return `W/"'` + v + `'"`
	}
	return `W/"''"`
}

// appendJSONString quotes s as JSON without HTML escaping ("&" stays "&" in a __next link, as SAP writes it).
func appendJSONString(b []byte, s string) []byte {
	enc, _ := json.Marshal(s)
	enc = bytes.ReplaceAll(enc, []byte(`\u0026`), []byte("&"))
	enc = bytes.ReplaceAll(enc, []byte(`\u003c`), []byte("<"))
	enc = bytes.ReplaceAll(enc, []byte(`\u003e`), []byte(">"))
	return append(b, enc...)
}

func appendValue(b []byte, p prop, v any) []byte {
	switch p.Type {
	case edmString, edmGuid:
		s, _ := v.(string)
		if isPlainASCII(s) {
			b = append(b, '"')
			b = append(b, s...)
			return append(b, '"')
		}
		return appendJSONString(b, s)
	case edmDecimal:
		s, _ := v.(string)
		if s == "" {
			s = "0"
			if p.Scale > 0 {
				s = "0." + strings.Repeat("0", p.Scale)
			}
		}
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	case edmDouble:
		// OData V2 JSON writes Edm.Double as a string, like Edm.Decimal; values are kept as their text. The form
		// SAP Gateway gives a double ("1", "1.0E0", ABAP's "1.0000000000000000E+00") is unverified.
		s, _ := v.(string)
		if s == "" {
			s = "0"
		}
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	case edmBoolean:
		bv, _ := v.(bool)
		return strconv.AppendBool(b, bv)
	case edmInt32, edmByte:
		n, _ := v.(int64)
		return strconv.AppendInt(b, n, 10)
	case edmTime:
		s, _ := v.(string)
		if s == "" {
			s = "PT00H00M00S"
		}
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	case edmDateTime, edmDateTimeOffset:
		t, ok := v.(time.Time)
		if !ok || t.IsZero() {
			return append(b, "null"...)
		}
		b = append(b, `"/Date(`...)
		b = strconv.AppendInt(b, t.UnixMilli(), 10)
		if p.Type == edmDateTimeOffset {
			b = append(b, "+0000"...)
		}
		return append(b, `)/"`...)
	}
	return append(b, "null"...)
}

func isPlainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// fieldError is a payload problem that SAP reports with a 400.
type fieldError struct {
	code, msg, prop string
}

// decodePayload validates a JSON object against et like SAP Gateway does: unknown properties, wrong JSON types,
// strings longer than MaxLength and decimals beyond Precision/Scale are rejected. Navigation properties in navs are
// decoded recursively (deep insert). forUpdate checks updatability instead of creatability (read-only properties
// are ignored, as Gateway does).
func decodePayload(et *entityType, raw json.RawMessage, forUpdate bool, path string) (record, *fieldError) {
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil || obj == nil {
		return nil, &fieldError{code: "CX_SXML_PARSE_ERROR", msg: "Error while parsing an XML stream: the payload is not a JSON object"}
	}
	r := record{}
	for name, v := range obj {
		if name == "__metadata" {
			continue
		}
		if n, ok := et.nav(name); ok {
			target := typesByName[n.Target]
			if target == nil {
				return nil, &fieldError{code: "/IWBEP/CM_MGW_RT/022", prop: name,
					msg: fmt.Sprintf("Deep insert via %s is not supported by the simulator", name)}
			}
			var items []json.RawMessage
			if n.Many {
				// Deep insert sends an array; the {"results":[...]} form is accepted too.
				if err := json.Unmarshal(v, &items); err != nil {
					var wrapped struct {
						Results []json.RawMessage `json:"results"`
					}
					if err2 := json.Unmarshal(v, &wrapped); err2 != nil {
						return nil, &fieldError{code: "/IWBEP/CM_MGW_RT/022", prop: name,
							msg: fmt.Sprintf("Value of navigation property %s must be an array", name)}
					}
					items = wrapped.Results
				}
				var rows []record
				for i, it := range items {
					cr, fe := decodePayload(target, it, forUpdate, fmt.Sprintf("%s%s[%d]/", path, name, i))
					if fe != nil {
						return nil, fe
					}
					rows = append(rows, cr)
				}
				r[name] = rows
				continue
			}
			return nil, &fieldError{code: "/IWBEP/CM_MGW_RT/022", prop: name,
				msg: fmt.Sprintf("Deep insert via %s is not supported", name)}
		}
		p, ok := et.prop(name)
		if !ok {
			return nil, &fieldError{code: "/IWBEP/CM_MGW_RT/004", prop: name,
				msg: fmt.Sprintf("Property '%s' is invalid", path+name)}
		}
		val, fe := decodeValue(p, v, path)
		if fe != nil {
			return nil, fe
		}
		if (forUpdate && p.Flags&noUpdate != 0) || (!forUpdate && p.Flags&noCreate != 0) {
			continue
		}
		r[name] = val
	}
	return r, nil
}

func decodeValue(p prop, v json.RawMessage, path string) (any, *fieldError) {
	bad := func(what string) *fieldError {
		return &fieldError{code: "/IWBEP/CM_MGW_RT/021", prop: p.Name,
			msg: fmt.Sprintf("Invalid value for property '%s' (%s): %s", path+p.Name, p.Type, what)}
	}
	if string(v) == "null" {
		if p.Flags&notNull != 0 {
			return nil, bad("null is not allowed")
		}
		return nil, nil
	}
	switch p.Type {
	case edmBoolean:
		var b bool
		if json.Unmarshal(v, &b) != nil {
			return nil, bad("a boolean is expected")
		}
		return b, nil
	case edmInt32:
		var n int32
		if json.Unmarshal(v, &n) != nil {
			return nil, bad("an integer is expected")
		}
		return int64(n), nil
	case edmByte:
		var n uint8
		if json.Unmarshal(v, &n) != nil {
			return nil, bad("an integer from 0 to 255 is expected")
		}
		return int64(n), nil
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return nil, bad("a string is expected")
	}
	switch p.Type {
	case edmString, edmGuid:
		if p.MaxLen > 0 && abapLength(s) > p.MaxLen {
			return nil, &fieldError{code: "/IWBEP/CM_MGW_RT/021", prop: p.Name,
				msg: fmt.Sprintf("The value of property '%s' is longer than %d characters", path+p.Name, p.MaxLen)}
		}
		return s, nil
	case edmDecimal:
		if !decimalFits(s, p.Precision, p.Scale) {
			return nil, bad(fmt.Sprintf("%q is not a decimal with precision %d and scale %d", s, p.Precision, p.Scale))
		}
		return canonicalDecimal(s), nil
	case edmDateTime, edmDateTimeOffset:
		t, err := parseDateLiteral(s)
		if err != nil {
			return nil, bad(err.Error())
		}
		return t, nil
	case edmDouble:
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			return nil, bad("a double is expected")
		}
		return s, nil
	case edmTime:
		if !strings.HasPrefix(s, "PT") {
			return nil, bad("a duration PTxxHxxMxxS is expected")
		}
		return s, nil
	}
	return nil, bad("unsupported type")
}

// parseDateLiteral reads "/Date(ms)/", "/Date(ms+0000)/" or an ISO date-time.
func parseDateLiteral(s string) (time.Time, error) {
	if inner, ok := strings.CutPrefix(s, "/Date("); ok {
		inner, ok = strings.CutSuffix(inner, ")/")
		if !ok {
			return time.Time{}, fmt.Errorf("%q is not /Date(ms)/", s)
		}
		if i := strings.LastIndexAny(inner, "+-"); i > 0 {
			inner = inner[:i]
		}
		ms, err := strconv.ParseInt(inner, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q is not /Date(ms)/", s)
		}
		return time.UnixMilli(ms).UTC(), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date", s)
}

func decimalFits(s string, precision, scale int) bool {
	t := strings.TrimLeft(s, "+-")
	if t == "" {
		return false
	}
	ip, fp, _ := strings.Cut(t, ".")
	for _, part := range []string{ip, fp} {
		for _, c := range part {
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	if ip == "" && fp == "" {
		return false
	}
	ip = strings.TrimLeft(ip, "0")
	fp = strings.TrimRight(fp, "0")
	if precision == 0 { // unspecified in the EDMX
		return true
	}
	return len(fp) <= scale && len(ip) <= precision-scale
}

func canonicalDecimal(s string) string {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return s
	}
	_, fp, _ := strings.Cut(s, ".")
	return r.FloatString(len(fp))
}

func ratOf(s string) *big.Rat {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return new(big.Rat)
	}
	return r
}

// abapLength is how many positions s takes in an ABAP character field: UTF-16 code units, so a character outside
// the Basic Multilingual Plane (an emoji) takes two, and 35 of them do not fit a field of 35.
func abapLength(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}
