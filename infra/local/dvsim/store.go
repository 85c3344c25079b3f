package dvsim

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// apiError is a Dataverse-shaped error: {"error":{"code":"0x...","message":"..."}}.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

func errf(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Error codes the simulator returns (values from Microsoft's documentation).
const (
	codeNotFound        = "0x80040217" // ObjectDoesNotExist
	codeDuplicate       = "0x80040237" // DuplicateRecord
	codeConcurrency     = "0x80060882" // ConcurrencyVersionMismatch
	codeBadProperty     = "0x80060888" // property not found on type
	codeInvalidArgument = "0x80040203"
	codeUnexpected      = "0x80040216" // UnExpected: "An unexpected error occurred."
	codeValidation      = "0x80044331"
	codeExpiredVersion  = "0x80044352" // ExpiredVersionStamp
	codeTooManyRequests = "0x80072322"
	codeExecutionTime   = "0x80072321"
	codeConcurrent      = "0x80072326"
)

type row struct {
	id      string
	version int64
	values  map[string]any // string | json.Number | bool | nil; lookups hold the target id
}

func (r *row) clone() *row {
	v := make(map[string]any, len(r.values))
	for k, x := range r.values {
		v[k] = x
	}
	return &row{id: r.id, version: r.version, values: v}
}

type tableData struct {
	def        *Table
	rows       map[string]*row
	tombstones map[string]int64 // deleted id -> version of the deletion
	altIndex   []map[string]string
	// refIndex finds the rows whose lookup column names a row: column → target id → row ids. $expand of a
	// collection (an order's lines) reads it instead of scanning the whole child table.
	refIndex map[string]map[string]map[string]bool
	writes   WriteCounts
}

func (t *tableData) altKeyValue(k int, values map[string]any) (string, bool) {
	parts := make([]string, 0, len(t.def.AltKeys[k]))
	for _, c := range t.def.AltKeys[k] {
		v, ok := values[c]
		if !ok || v == nil {
			return "", false
		}
		parts = append(parts, strings.ToLower(fmt.Sprint(v)))
	}
	return strings.Join(parts, "\x00"), true
}

// store holds every table under one lock; changesets and bulk calls run as a tx with an undo log.
type store struct {
	mu       sync.Mutex
	tables   map[string]*tableData // by entity set
	byEntity map[string]*tableData
	version  int64
	minToken int64 // delta tokens below this are expired
	now      func() time.Time
}

func newStore(defs []Table, now func() time.Time) (*store, error) {
	s := &store{tables: map[string]*tableData{}, byEntity: map[string]*tableData{}, version: 1000, now: now}
	for i := range defs {
		d := defs[i]
		if err := d.validate(); err != nil {
			return nil, err
		}
		td := &tableData{def: &d, rows: map[string]*row{}, tombstones: map[string]int64{}, refIndex: map[string]map[string]map[string]bool{}}
		td.altIndex = make([]map[string]string, len(d.AltKeys))
		for k := range td.altIndex {
			td.altIndex[k] = map[string]string{}
		}
		s.tables[d.Set] = td
		s.byEntity[d.Entity] = td
	}
	return s, nil
}

// tx records the state before each touched row so a changeset or a bulk call can be undone.
type tx struct {
	s       *store
	undo    []func()
	touch   map[string]bool
	version int64 // the store's version when x began
	seed    bool  // Insert: a seeded row, not an API create (see catalog.go)
}

func (s *store) begin() *tx { return &tx{s: s, touch: map[string]bool{}, version: s.version} }

func (x *tx) save(t *tableData, id string) {
	key := t.def.Set + "/" + id
	if x.touch[key] {
		return
	}
	x.touch[key] = true
	prev, existed := t.rows[id]
	tomb, hadTomb := t.tombstones[id]
	x.undo = append(x.undo, func() {
		if cur, ok := t.rows[id]; ok {
			t.unindex(cur)
		}
		if existed {
			t.rows[id] = prev
			t.index(prev)
		} else {
			delete(t.rows, id)
		}
		if hadTomb {
			t.tombstones[id] = tomb
		} else {
			delete(t.tombstones, id)
		}
	})
}

func (x *tx) rollback() {
	for i := len(x.undo) - 1; i >= 0; i-- {
		x.undo[i]()
	}
	x.undo = nil
	// Nothing outside x saw the versions it used (the store lock is held throughout), so a request that wrote
	// nothing leaves Version as it was.
	x.s.version = x.version
}

func (t *tableData) index(r *row) {
	for k := range t.def.AltKeys {
		if v, ok := t.altKeyValue(k, r.values); ok {
			t.altIndex[k][v] = r.id
		}
	}
	for _, c := range t.def.Columns {
		if target, ok := r.values[c.Name].(string); ok && len(c.Targets) > 0 && target != "" {
			byTarget := t.refIndex[c.Name]
			if byTarget == nil {
				byTarget = map[string]map[string]bool{}
				t.refIndex[c.Name] = byTarget
			}
			if byTarget[target] == nil {
				byTarget[target] = map[string]bool{}
			}
			byTarget[target][r.id] = true
		}
	}
}

// referring lists the rows whose lookup column names target.
func (t *tableData) referring(column, target string) []*row {
	var out []*row
	for id := range t.refIndex[column][target] {
		if r, ok := t.rows[id]; ok && r.values[column] == target {
			out = append(out, r)
		}
	}
	return out
}

func (t *tableData) unindex(r *row) {
	for _, c := range t.def.Columns {
		if target, ok := r.values[c.Name].(string); ok && len(c.Targets) > 0 {
			delete(t.refIndex[c.Name][target], r.id)
		}
	}
	for k := range t.def.AltKeys {
		if v, ok := t.altKeyValue(k, r.values); ok && t.altIndex[k][v] == r.id {
			delete(t.altIndex[k], v)
		}
	}
}

func (s *store) nextVersion() int64 {
	s.version++
	return s.version
}

func newGUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func isGUID(s string) bool { return guidRE.MatchString(s) }

// keySpec identifies a row: by primary key or by the columns of an alternate key.
type keySpec struct {
	id  string
	alt map[string]any
}

func (k keySpec) String() string {
	if k.id != "" {
		return k.id
	}
	names := make([]string, 0, len(k.alt))
	for n := range k.alt {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s=%v", n, k.alt[n])
	}
	return strings.Join(parts, ",")
}

// find resolves a key to a row id ("" when absent). A key whose columns are not an alternate key is an error.
func (t *tableData) find(k keySpec) (string, *apiError) {
	if k.id != "" {
		if _, ok := t.rows[strings.ToLower(k.id)]; ok {
			return strings.ToLower(k.id), nil
		}
		return "", nil
	}
	for i, cols := range t.def.AltKeys {
		if len(cols) != len(k.alt) {
			continue
		}
		match := true
		for _, c := range cols {
			if _, ok := k.alt[c]; !ok {
				match = false
			}
		}
		if !match {
			continue
		}
		v, _ := t.altKeyValue(i, k.alt)
		return t.altIndex[i][v], nil
	}
	return "", errf(400, codeInvalidArgument, "The key attributes specified (%s) are not an alternate key of %s.", k, t.def.Entity)
}

func (t *tableData) notFound(k keySpec, code string) *apiError {
	return errf(404, code, "%s With Id = %s Does Not Exist", t.def.Entity, k)
}

// write applies validated values to a new or existing row, keeping alternate keys unique.
func (s *store) write(x *tx, t *tableData, id string, values map[string]any, create bool) (*row, *apiError) {
	x.save(t, id)
	var r, prev *row
	if create {
		r = &row{id: id, values: map[string]any{}}
		now := s.now().UTC().Format(time.RFC3339)
		r.values["createdon"] = now
		for _, c := range t.def.Columns {
			if _, ok := r.values[c.Name]; !ok && c.Name != "createdon" {
				r.values[c.Name] = nil
			}
		}
		// The primary key is a column like any other to $filter ("productid eq <id> or ..." reads rows by id).
		r.values[t.def.Key] = id
		if t.def.Entity == "salesorder" || t.def.Entity == "account" || t.def.Entity == "pricelevel" {
			r.values["statecode"] = json.Number("0")
			r.values["statuscode"] = json.Number("1")
		}
	} else {
		prev = t.rows[id]
		r = prev.clone()
		t.unindex(prev)
	}
	for k, v := range values {
		r.values[k] = v
	}
	for k := range t.def.AltKeys {
		if v, ok := t.altKeyValue(k, r.values); ok {
			if other, taken := t.altIndex[k][v]; taken && other != id {
				if !create {
					t.index(t.rows[id])
				}
				return nil, errf(412, codeDuplicate, "A record with matching key values already exists.")
			}
		}
	}
	if create {
		for _, req := range requiredColumns[t.def.Entity] {
			if r.values[req] == nil {
				return nil, errf(400, codeValidation, "A validation error occurred. The value of '%s' on record of type '%s' is required.", req, t.def.Entity)
			}
		}
	}
	r.version = s.nextVersion()
	r.values["versionnumber"] = json.Number(fmt.Sprint(r.version))
	r.values["modifiedon"] = s.now().UTC().Format(time.RFC3339)
	t.rows[id] = r
	delete(t.tombstones, id)
	t.index(r)
	if create {
		x.count(t, WriteCounts{Creates: 1})
	} else {
		x.count(t, updateKind(prev.values, values))
	}
	return r, nil
}

var requiredColumns = map[string][]string{
	"salesorder":       {"name"},
	"salesorderdetail": {"quantity"},
	"account":          {"name"},
	"invoicedetail":    {"invoiceid"}, // SystemRequired (invoicedetail table reference)
}

func (s *store) remove(x *tx, t *tableData, id string) {
	x.save(t, id)
	t.unindex(t.rows[id])
	delete(t.rows, id)
	t.tombstones[id] = s.nextVersion()
	x.count(t, WriteCounts{Deletes: 1})
}

// compareValues orders two stored values; numbers compare exactly.
func compareValues(a, b any) (int, bool) {
	switch av := a.(type) {
	case json.Number:
		bv, ok := b.(json.Number)
		if !ok {
			return 0, false
		}
		ar, ok1 := new(big.Rat).SetString(string(av))
		br, ok2 := new(big.Rat).SetString(string(bv))
		if !ok1 || !ok2 {
			return 0, false
		}
		return ar.Cmp(br), true
	case string:
		bv, ok := b.(string)
		if !ok {
			return 0, false
		}
		return strings.Compare(strings.ToLower(av), strings.ToLower(bv)), true
	case bool:
		bv, ok := b.(bool)
		if !ok {
			return 0, false
		}
		if av == bv {
			return 0, true
		}
		if !av {
			return -1, true
		}
		return 1, true
	case nil:
		if b == nil {
			return 0, true
		}
		return -1, true
	}
	return 0, false
}
