package dvsim

import (
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// deepInsert is a collection navigation property in a create body (e.g. order_details: [...]).
type deepInsert struct {
	coll    Collection
	records []map[string]any
}

// decodeEntity validates a JSON body against the table: known columns, types, lookups bound with
// "<nav>@odata.bind". The store lock must be held (binds are resolved against the tables).
func (s *Server) decodeEntity(td *tableData, body map[string]any, refs map[string]string) (map[string]any, []deepInsert, *apiError) {
	t := td.def
	values := map[string]any{}
	var deep []deepInsert
	keys := make([]string, 0, len(body))
	for k := range body {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := body[k]
		switch {
		case k == "@odata.type":
			if str, _ := v.(string); !strings.EqualFold(strings.TrimPrefix(str, "#"), "Microsoft.Dynamics.CRM."+t.Entity) {
				return nil, nil, errf(400, codeInvalidArgument, "The @odata.type %v does not match %s.", v, t.Entity)
			}
		case k == "@odata.id" || k == "@odata.etag":
			// Identifies the row in bulk messages; handled by the caller.
		case strings.HasSuffix(k, "@odata.bind"):
			nav := strings.TrimSuffix(k, "@odata.bind")
			c, set, ok := t.navTarget(nav)
			if !ok {
				return nil, nil, errf(400, codeBadProperty, "An undeclared property '%s' which only has property annotations in the payload but no property value was found in the payload.", nav)
			}
			if v == nil {
				values[c.Name] = nil
				continue
			}
			ref, _ := v.(string)
			id, err := s.resolveBind(set, ref, refs)
			if err != nil {
				return nil, nil, err
			}
			values[c.Name] = id
		case strings.Contains(k, "@"):
			// Other instance annotations are ignored, as the service does.
		default:
			if coll, ok := t.Collections[k]; ok {
				arr, ok := v.([]any)
				if !ok {
					return nil, nil, errf(400, codeInvalidArgument, "Navigation property '%s' needs an array.", k)
				}
				di := deepInsert{coll: coll}
				for _, item := range arr {
					m, ok := item.(map[string]any)
					if !ok {
						return nil, nil, errf(400, codeInvalidArgument, "Navigation property '%s' needs objects.", k)
					}
					di.records = append(di.records, m)
				}
				deep = append(deep, di)
				continue
			}
			c, ok := t.column(k)
			if !ok {
				return nil, nil, errf(400, codeBadProperty, "Could not find a property named '%s' on type 'Microsoft.Dynamics.CRM.%s'.", k, t.Entity)
			}
			if len(c.Targets) > 0 {
				return nil, nil, errf(400, codeBadProperty, "A lookup property '%s' must be set with '%s@odata.bind'.", k, firstNav(c))
			}
			if c.ReadOnly {
				return nil, nil, errf(400, codeInvalidArgument, "The property '%s' of '%s' is read-only.", k, t.Entity)
			}
			nv, err := checkType(c, v)
			if err != nil {
				return nil, nil, errf(400, codeInvalidArgument, "Cannot convert the value of '%s' to %s: %v", k, c.Type, err)
			}
			if str, ok := nv.(string); ok && c.MaxLength > 0 && utf8.RuneCountInString(str) > c.MaxLength {
				return nil, nil, errf(400, codeValidation, "A validation error occurred.  The length of the '%s' attribute of the '%s' entity exceeded the maximum allowed length of '%d'.", k, t.Entity, c.MaxLength)
			}
			values[k] = nv
		}
	}
	return values, deep, nil
}

func firstNav(c Column) string {
	for n := range c.Targets {
		return n
	}
	return c.Name
}

// resolveBind turns "/accounts(<guid>)", "accounts(accountnumber='x')" or "$1" into a row id.
func (s *Server) resolveBind(set, ref string, refs map[string]string) (string, *apiError) {
	if strings.HasPrefix(ref, "$") {
		if u, ok := refs[ref[1:]]; ok {
			ref = u
		} else {
			return "", errf(400, codeInvalidArgument, "Unknown Content-ID reference %q.", ref)
		}
	}
	if i := strings.Index(ref, apiPrefix); i >= 0 {
		ref = ref[i+len(apiPrefix):]
	}
	ref = strings.TrimPrefix(ref, "/")
	open := strings.Index(ref, "(")
	if open < 0 || !strings.HasSuffix(ref, ")") || ref[:open] != set {
		return "", errf(400, codeInvalidArgument, "Bad @odata.bind value %q for %s.", ref, set)
	}
	k, err := parseKey(ref[open+1 : len(ref)-1])
	if err != nil {
		return "", err
	}
	td, ok := s.store.tables[set]
	if !ok {
		// A table the simulator does not hold (e.g. transactioncurrencies): accept any GUID.
		if k.id == "" {
			return "", errf(400, codeInvalidArgument, "Alternate keys are not simulated for %s.", set)
		}
		return k.id, nil
	}
	id, aerr := td.find(k)
	if aerr != nil {
		return "", aerr
	}
	if id == "" {
		return "", td.notFound(k, codeNotFound)
	}
	return id, nil
}

func checkType(c Column, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch c.Type {
	case String:
		if _, ok := v.(string); !ok {
			return nil, fmt.Errorf("a string is expected")
		}
		return v, nil
	case Boolean:
		if _, ok := v.(bool); !ok {
			return nil, fmt.Errorf("a boolean is expected")
		}
		return v, nil
	case Guid:
		s, ok := v.(string)
		if !ok || !isGUID(s) {
			return nil, fmt.Errorf("a GUID is expected")
		}
		return strings.ToLower(s), nil
	case DateTimeOffset:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("a date is expected")
		}
		if _, err := time.Parse(time.RFC3339, s); err == nil {
			return s, nil
		}
		if _, err := time.Parse("2006-01-02", s); err == nil {
			return s, nil
		}
		return nil, fmt.Errorf("%q is not a date", s)
	case Int32, OptionSet, Int64:
		n, ok := v.(json.Number)
		if !ok {
			return nil, fmt.Errorf("an integer is expected")
		}
		bits := 32
		if c.Type == Int64 {
			bits = 64
		}
		if _, err := strconv.ParseInt(string(n), 10, bits); err != nil {
			return nil, fmt.Errorf("%s is not an Int%d", n, bits)
		}
		return n, nil
	case Decimal:
		n, ok := v.(json.Number)
		if !ok {
			return nil, fmt.Errorf("a number is expected")
		}
		if _, ok := new(big.Rat).SetString(string(n)); !ok {
			return nil, fmt.Errorf("%s is not a decimal", n)
		}
		return n, nil
	}
	return nil, fmt.Errorf("unknown type %s", c.Type)
}

// create inserts a row (and any deep-inserted children) inside x.
func (s *Server) create(x *tx, td *tableData, body map[string]any, refs map[string]string) (*row, int, *apiError) {
	values, deep, err := s.decodeEntity(td, body, refs)
	if err != nil {
		return nil, 0, err
	}
	id := newGUID()
	if v, ok := values[td.def.Key]; ok && v != nil {
		id = v.(string)
		delete(values, td.def.Key)
	}
	if _, exists := td.rows[id]; exists {
		return nil, 0, errf(412, codeDuplicate, "A record with matching key values already exists.")
	}
	if err := s.beforeCreate(x, td, values); err != nil {
		return nil, 0, err
	}
	r, err := s.store.write(x, td, id, values, true)
	if err != nil {
		return nil, 0, err
	}
	r = s.afterWrite(x, td, r, nil)
	ops := 1
	for _, d := range deep {
		child := s.store.tables[d.coll.Set]
		for _, rec := range d.records {
			rec[d.coll.ForeignKey+"@odata.bind"] = "/" + td.def.Set + "(" + id + ")"
			_, n, err := s.create(x, child, rec, refs)
			if err != nil {
				return nil, 0, err
			}
			ops += n
		}
	}
	// The children may have changed the row (an invoice's totals).
	return td.rows[r.id], ops, nil
}

type condition int

const (
	condNone       condition = iota
	condUpdateOnly           // If-Match: *
	condCreateOnly           // If-None-Match: *
	condETag                 // If-Match: W/"n"
)

// upsert applies PATCH semantics by key: create or update, or one of them only.
func (s *Server) upsert(x *tx, td *tableData, k keySpec, cond condition, etagWant string, body map[string]any, refs map[string]string) (*row, bool, *apiError) {
	id, err := td.find(k)
	if err != nil {
		return nil, false, err
	}
	values, deep, err := s.decodeEntity(td, body, refs)
	if err != nil {
		return nil, false, err
	}
	if len(deep) > 0 {
		return nil, false, errf(400, codeInvalidArgument, "Deep insert is only allowed on create.")
	}
	if v, ok := values[td.def.Key]; ok && k.id != "" && v != k.id {
		return nil, false, errf(400, codeInvalidArgument, "The key in the body does not match the key in the URL.")
	}
	for col, want := range k.alt {
		if got, ok := values[col]; ok {
			if c, _ := compareValues(got, want); c != 0 {
				return nil, false, errf(400, codeInvalidArgument, "The value of key attribute '%s' in the body does not match the URL.", col)
			}
		}
	}
	if id == "" {
		switch cond {
		case condUpdateOnly, condETag:
			return nil, false, td.notFound(k, "")
		}
		id = k.id
		if id == "" {
			id = newGUID()
			if v, ok := values[td.def.Key].(string); ok {
				id = v
			}
		}
		delete(values, td.def.Key)
		for col, v := range k.alt {
			c, _ := td.def.column(col)
			nv, terr := checkType(c, v)
			if terr != nil {
				return nil, false, errf(400, codeInvalidArgument, "Key %s: %v", col, terr)
			}
			values[col] = nv
		}
		if err := s.beforeCreate(x, td, values); err != nil {
			return nil, false, err
		}
		r, err := s.store.write(x, td, id, values, true)
		if err != nil {
			return nil, false, err
		}
		return s.afterWrite(x, td, r, nil), true, nil
	}
	cur := td.rows[id]
	switch cond {
	case condCreateOnly:
		return nil, false, errf(412, "", "A record with matching key values already exists.")
	case condETag:
		if etagWant != etag(cur.version) {
			return nil, false, errf(412, "", "The version of the existing record doesn't match the RowVersion property provided.")
		}
	}
	if err := checkEditable(td, cur, values); err != nil {
		return nil, false, err
	}
	if err := s.beforeUpdate(x, td, cur, values); err != nil {
		return nil, false, err
	}
	delete(values, td.def.Key)
	r, err := s.store.write(x, td, id, values, false)
	if err != nil {
		return nil, false, err
	}
	return s.afterWrite(x, td, r, cur), false, nil
}

// checkEditable: only active sales orders can be edited (state changes go through the close actions).
func checkEditable(td *tableData, cur *row, values map[string]any) *apiError {
	if td.def.Entity != "salesorder" {
		return nil
	}
	if st, _ := cur.values["statecode"].(json.Number); st != "" && st != "0" {
		return errf(400, "", "The object cannot be updated because it is read-only.")
	}
	return nil
}
