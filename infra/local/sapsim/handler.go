package sapsim

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

type serviceDef struct {
	sets      []string
	functions []string
}

// services are the simulated services and the entity sets each serves.
var services = map[string]serviceDef{
	"API_SALES_ORDER_SRV":               {sets: []string{"A_SalesOrder", "A_SalesOrderItem"}},
	"API_MATERIAL_STOCK_SRV":            {sets: []string{"A_MatlStkInAcctMod"}},
	"API_PRODUCT_SRV":                   {sets: []string{"A_Product", "A_ProductDescription"}},
	"API_SLSPRICINGCONDITIONRECORD_SRV": {sets: []string{"A_SlsPrcgConditionRecord", "A_SlsPrcgCndnRecdValidity"}},
	"API_PRODUCT_AVAILY_INFO_BASIC":     {functions: []string{"DetermineAvailabilityAt"}},
	"API_BUSINESS_PARTNER":              {sets: []string{"A_BusinessPartner", "A_Customer", "A_CustomerSalesArea"}},
	"API_OUTBOUND_DELIVERY_SRV":         {sets: []string{"A_OutbDeliveryHeader", "A_OutbDeliveryItem"}},
	"API_BILLING_DOCUMENT_SRV":          {sets: []string{"A_BillingDocument", "A_BillingDocumentItem"}},
}

func init() {
	// The business partner EDMX in the kit declares no ConcurrencyMode, yet S/4HANA answers partner reads with an
	// ETag derived from the ETag property and honours If-Match on updates; the simulator does the same.
	etABusinessPartnerType.ETagProp = "ETag"
}

type handler struct {
	s       *Server
	svc     serviceDef
	service string
	root    string
}

// source is an entity set: n rows addressed by index, generated or copied from the store.
type source struct {
	et     *entityType
	n      int
	at     func(i int) record
	find   func(keys map[string]string) (int, bool) // candidate index for a key lookup
	narrow func(f *expr) (lo, hi int)
}

func (h *handler) source(set string, q url.Values) *source {
	s, g := h.s, h.s.gen
	found := false
	for _, name := range h.svc.sets {
		found = found || name == set
	}
	if !found {
		return nil
	}
	P := len(g.plants)
	byIndex := func(key string, parse func(string) (int, bool)) func(map[string]string) (int, bool) {
		return func(k map[string]string) (int, bool) { return parse(k[key]) }
	}
	switch set {
	case "A_SalesOrder", "A_SalesOrderItem":
		// A lookup by customer reference (what an integration does before it creates) copies only the orders that
		// can match; the full filter still runs on them.
		var keep func(record) bool
		if f := q.Get("$filter"); f != "" && set == "A_SalesOrder" {
			if e, err := parseFilter(etASalesOrderType, f); err == nil {
				if po, ok := e.eqConstraint("PurchaseOrderByCustomer"); ok {
					keep = func(r record) bool { return r["PurchaseOrderByCustomer"] == po }
				}
			}
		}
		orders := s.store.snapshotOrders(keep)
		if set == "A_SalesOrderItem" {
			var items []record
			for _, o := range orders {
				items = append(items, o["to_Item"].([]record)...)
			}
			return &source{et: etASalesOrderItemType, n: len(items), at: func(i int) record { return items[i] }}
		}
		return &source{et: etASalesOrderType, n: len(orders), at: func(i int) record { return orders[i] }}
	case "A_MatlStkInAcctMod":
		return &source{et: etAMatlStkInAcctModType, n: g.products * P, at: g.stock,
			find: func(k map[string]string) (int, bool) {
				pi, ok := productIndex(k["Material"])
				for p, plant := range g.plants {
					if plant == k["Plant"] && ok {
						return pi*P + p, true
					}
				}
				return 0, false
			},
			narrow: func(f *expr) (int, int) {
				if m, ok := f.eqConstraint("Material"); ok {
					pi, ok := productIndex(m)
					if !ok || pi >= g.products {
						return 0, 0
					}
					return pi * P, pi*P + P
				}
				return 0, g.products * P
			}}
	case "A_Product":
		return &source{et: etAProductType, n: g.products, at: g.product, find: byIndex("Product", productIndex),
			narrow: func(f *expr) (int, int) {
				if m, ok := f.eqConstraint("Product"); ok {
					pi, ok := productIndex(m)
					if !ok || pi >= g.products {
						return 0, 0
					}
					return pi, pi + 1
				}
				if t, ok := f.lowerBound("LastChangeDateTime"); ok {
					return g.productsChangedAfter(t, true), g.products
				}
				return 0, g.products
			}}
	case "A_ProductDescription":
		return &source{et: etAProductDescriptionType, n: g.products,
			at: func(i int) record { return g.productDescriptions(i)[0] }, find: byIndex("Product", productIndex)}
	case "A_SlsPrcgConditionRecord":
		return &source{et: etASlsPrcgConditionRecordType, n: g.products, at: g.conditionRecord,
			find: byIndex("ConditionRecord", conditionIndex)}
	case "A_SlsPrcgCndnRecdValidity":
		return &source{et: etASlsPrcgCndnRecdValidityType, n: g.products, at: g.conditionValidity,
			find: byIndex("ConditionRecord", conditionIndex),
			narrow: func(f *expr) (int, int) {
				if m, ok := f.eqConstraint("Material"); ok {
					pi, ok := productIndex(m)
					if !ok || pi >= g.products {
						return 0, 0
					}
					return pi, pi + 1
				}
				return 0, g.products
			}}
	case "A_BusinessPartner":
		return &source{et: etABusinessPartnerType, n: g.customers, at: s.businessPartner,
			find: byIndex("BusinessPartner", customerIndex)}
	case "A_Customer":
		return &source{et: etACustomerType, n: g.customers, at: g.customer, find: byIndex("Customer", customerIndex)}
	case "A_CustomerSalesArea":
		return &source{et: etACustomerSalesAreaType, n: g.customers, at: g.salesArea, find: byIndex("Customer", customerIndex)}
	case "A_OutbDeliveryHeader":
		return s.documents(etAOutbDeliveryHeaderType, "DeliveryDocument", 80000000, g.deliv, g.delivery, &s.store.deliveries)
	case "A_OutbDeliveryItem":
		d := s.documents(etAOutbDeliveryHeaderType, "DeliveryDocument", 80000000, g.deliv, g.delivery, &s.store.deliveries)
		return itemsOf(etAOutbDeliveryItemType, d, "to_DeliveryDocumentItem")
	case "A_BillingDocument":
		return s.documents(etABillingDocumentType, "BillingDocument", 90000000, g.billing, g.billingDocument, &s.store.billing)
	case "A_BillingDocumentItem":
		d := s.documents(etABillingDocumentType, "BillingDocument", 90000000, g.billing, g.billingDocument, &s.store.billing)
		return itemsOf(etABillingDocumentItemType, d, "to_Item")
	}
	return nil
}

func itemsOf(et *entityType, headers *source, navName string) *source {
	var items []record
	for i := range headers.n {
		items = append(items, headers.at(i)[navName].([]record)...)
	}
	return &source{et: et, n: len(items), at: func(i int) record { return items[i] }}
}

// documents serves generated documents numbered first+i, followed by those Fulfil stored.
func (s *Server) documents(et *entityType, key string, first, generated int, gen func(int) record, stored *[]record) *source {
	s.store.mu.Lock()
	extra := make([]record, len(*stored))
	for i, d := range *stored {
		extra[i] = cloneRecord(d)
	}
	s.store.mu.Unlock()
	return &source{et: et, n: generated + len(extra),
		at: func(i int) record {
			if i < generated {
				return gen(i)
			}
			return extra[i-generated]
		},
		find: func(k map[string]string) (int, bool) {
			v, err := strconv.Atoi(k[key])
			return v - first, err == nil && v >= first
		}}
}

func conditionIndex(id string) (int, bool) {
	v, err := strconv.Atoi(id)
	return v - 1, err == nil && v >= 1 && len(id) == 10
}

// navValue fills a navigation property that is not stored in the record.
func (h *handler) navValue(et *entityType, r record, name string) (any, bool) {
	if v, ok := r[name]; ok {
		return v, true
	}
	g := h.s.gen
	switch et.Name + "/" + name {
	case "A_ProductType/to_Description":
		if i, ok := productIndex(fmt.Sprint(r["Product"])); ok {
			return g.productDescriptions(i), true
		}
	case "A_SlsPrcgConditionRecordType/to_SlsPrcgCndnRecdValidity":
		if i, ok := conditionIndex(fmt.Sprint(r["ConditionRecord"])); ok {
			return []record{g.conditionValidity(i)}, true
		}
	case "A_SlsPrcgCndnRecdValidityType/to_SlsPrcgConditionRecord":
		if i, ok := conditionIndex(fmt.Sprint(r["ConditionRecord"])); ok {
			return g.conditionRecord(i), true
		}
	case "A_BusinessPartnerType/to_Customer":
		if i, ok := customerIndex(fmt.Sprint(r["Customer"])); ok {
			return g.customer(i), true
		}
	case "A_CustomerType/to_CustomerSalesArea":
		if i, ok := customerIndex(fmt.Sprint(r["Customer"])); ok {
			return []record{g.salesArea(i)}, true
		}
	}
	return nil, false
}

// fill attaches the expanded navigation properties, recursively for paths like to_Customer/to_CustomerSalesArea.
func (h *handler) fill(et *entityType, r record, expand map[string]bool) {
	for _, n := range et.Navs {
		if !expand[n.Name] {
			continue
		}
		v, ok := h.navValue(et, r, n.Name)
		if !ok {
			continue
		}
		r[n.Name] = v
		target := typesByName[n.Target]
		sub := subExpand(expand, n.Name)
		if len(sub) == 0 {
			continue
		}
		switch x := v.(type) {
		case []record:
			for _, c := range x {
				h.fill(target, c, sub)
			}
		case record:
			h.fill(target, x, sub)
		}
	}
}

func (h *handler) fail(w http.ResponseWriter, status int, code, msg, target string) {
	writeError(w, status, sapError{code: code, msg: msg, service: h.service, target: target})
}

func (h *handler) serve(w http.ResponseWriter, r *http.Request, resource string) {
	switch {
	case resource == "":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.fail(w, http.StatusMethodNotAllowed, "/IWBEP/CM_MGW_RT/021", "Method not allowed on the service document", "")
			return
		}
		names := append(append([]string{}, h.svc.sets...), h.svc.functions...)
		writeJSON(w, http.StatusOK, map[string]any{"d": map[string]any{"EntitySets": names}})
		return
	case resource == "$metadata":
		h.metadata(w)
		return
	case resource == "$batch":
		if r.Method != http.MethodPost {
			h.fail(w, http.StatusMethodNotAllowed, "/IWBEP/CM_MGW_RT/021", "$batch needs POST", "")
			return
		}
		h.batch(w, r)
		return
	}
	set, keyPart, navName, err := splitResource(resource)
	if err != nil {
		h.fail(w, http.StatusBadRequest, "/IWBEP/CM_MGW_RT/020", err.Error(), "")
		return
	}
	for _, fn := range h.svc.functions {
		if fn == set && keyPart == "" {
			if r.Method != http.MethodGet {
				h.fail(w, http.StatusMethodNotAllowed, "/IWBEP/CM_MGW_RT/021", "Function import "+fn+" needs GET", "")
				return
			}
			h.availability(w, r)
			return
		}
	}
	src := h.source(set, r.URL.Query())
	if src == nil {
		h.fail(w, http.StatusNotFound, "/IWBEP/CM_MGW_RT/020", fmt.Sprintf("Resource not found for segment '%s'", set), "")
		return
	}
	method := r.Method
	if m := r.Header.Get("X-HTTP-Method"); method == http.MethodPost && m != "" {
		method = strings.ToUpper(m)
	}
	switch {
	case method == http.MethodGet && keyPart == "":
		h.collection(w, r, src)
	case method == http.MethodGet:
		h.entity(w, r, src, keyPart, navName)
	case method == http.MethodPost && keyPart == "":
		h.create(w, r, src)
	case (method == http.MethodPatch || method == "MERGE" || method == http.MethodPut) && keyPart != "" && navName == "":
		h.update(w, r, src, keyPart)
	default:
		h.fail(w, http.StatusMethodNotAllowed, "/IWBEP/CM_MGW_RT/021",
			fmt.Sprintf("The method %s is not supported for %s", method, set), "")
	}
}

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

func (h *handler) notFound(w http.ResponseWriter, et *entityType) {
	h.fail(w, http.StatusNotFound, "/IWBEP/CM_MGW_RT/020", fmt.Sprintf("Resource not found for segment '%s'", et.Name), "")
}

func (h *handler) entity(w http.ResponseWriter, r *http.Request, src *source, pred, navName string) {
	o, err := parseOptions(src.et, r.URL.Query())
	if err != nil {
		h.fail(w, http.StatusBadRequest, "/IWBEP/CM_MGW_RT/004", err.Error(), "")
		return
	}
	rec, err := h.lookup(src, pred)
	if err != nil {
		if errors.Is(err, errNotFound) {
			h.notFound(w, src.et)
			return
		}
		h.fail(w, http.StatusBadRequest, "/IWBEP/CM_MGW_RT/020", err.Error(), "")
		return
	}
	enc := &encoder{root: h.root}
	if navName != "" {
		n, ok := src.et.nav(navName)
		if !ok || n.Target == "" {
			h.fail(w, http.StatusNotFound, "/IWBEP/CM_MGW_RT/020", fmt.Sprintf("Resource not found for segment '%s'", navName), "")
			return
		}
		v, _ := h.navValue(src.et, rec, navName)
		target := typesByName[n.Target]
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		if n.Many {
			rows, _ := v.([]record)
			b := []byte(`{"d":{"results":[`)
			for i, row := range rows {
				if i > 0 {
					b = append(b, ',')
				}
				b = enc.appendRecord(b, target, row, nil, nil)
			}
			_, _ = w.Write(append(b, "]}}"...))
			return
		}
		row, _ := v.(record)
		if row == nil {
			h.notFound(w, target)
			return
		}
		_, _ = w.Write(append(enc.appendRecord([]byte(`{"d":`), target, row, nil, nil), '}'))
		return
	}
	h.fill(src.et, rec, o.expand)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if src.et.ETagProp != "" {
		w.Header().Set("ETag", etagOf(src.et, rec))
	}
	_, _ = w.Write(append(enc.appendRecord([]byte(`{"d":`), src.et, rec, o.sel, o.expand), '}'))
}

// collection answers a read of an entity set with server paging: at most PageSize rows, then __next with a
// $skiptoken "<raw index>_<rows sent>" that resumes where this page stopped.
func (h *handler) collection(w http.ResponseWriter, r *http.Request, src *source) {
	q := r.URL.Query()
	o, err := parseOptions(src.et, q)
	if err != nil {
		h.fail(w, http.StatusBadRequest, "/IWBEP/CM_MGW_RT/004", err.Error(), "")
		return
	}
	lo, hi := 0, src.n
	if src.narrow != nil && o.filter != nil {
		lo, hi = src.narrow(o.filter)
		hi = min(hi, src.n)
	}
	match := func(rec record) bool { return o.filter == nil || o.filter.match(rec) }
	if len(o.orderBy) > 0 {
		// Sorting needs the matches in memory; generated sets are already in key order, so large sorts are refused.
		if hi-lo > maxSortRows {
			h.fail(w, http.StatusBadRequest, "/IWBEP/CM_MGW_RT/004",
				fmt.Sprintf("$orderby over more than %d rows is not supported; filter first", maxSortRows), "")
			return
		}
		var rows []record
		for i := lo; i < hi; i++ {
			if rec := src.at(i); match(rec) {
				rows = append(rows, rec)
			}
		}
		sortRecords(rows, o.orderBy)
		src = &source{et: src.et, n: len(rows), at: func(i int) record { return rows[i] }}
		lo, hi = 0, len(rows)
		match = func(record) bool { return true }
	}
	start, sent, skip := lo, 0, o.skip
	if o.skipToken != "" {
		a, b, ok := strings.Cut(o.skipToken, "_")
		ra, err1 := strconv.Atoi(a)
		rb, err2 := strconv.Atoi(b)
		if !ok || err1 != nil || err2 != nil || ra < lo || rb < 0 {
			h.fail(w, http.StatusBadRequest, "/IWBEP/CM_MGW_RT/004", "Invalid $skiptoken", "")
			return
		}
		start, sent, skip = ra, rb, 0
	}
	limit := h.s.opts.PageSize
	if o.top >= 0 {
		limit = min(limit, o.top-sent)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	bw := bufio.NewWriterSize(w, 64<<10)
	_, _ = bw.WriteString(`{"d":{`)
	if o.inlineCount {
		n := 0
		if o.filter == nil || len(o.orderBy) > 0 {
			n = hi - lo
		} else {
			for i := lo; i < hi; i++ {
				if match(src.at(i)) {
					n++
				}
			}
		}
		fmt.Fprintf(bw, `"__count":"%d",`, n)
	}
	_, _ = bw.WriteString(`"results":[`)
	enc := &encoder{root: h.root}
	buf := make([]byte, 0, 4096)
	emitted, i := 0, start
	for ; i < hi && emitted < limit; i++ {
		rec := src.at(i)
		if !match(rec) {
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		h.fill(src.et, rec, o.expand)
		buf = buf[:0]
		if emitted > 0 {
			buf = append(buf, ',')
		}
		buf = enc.appendRecord(buf, src.et, rec, o.sel, o.expand)
		_, _ = bw.Write(buf)
		emitted++
	}
	_, _ = bw.WriteString("]")
	more := i < hi && (o.top < 0 || sent+emitted < o.top)
	if more && emitted == limit && limit == h.s.opts.PageSize {
		nq := url.Values{}
		for k, vs := range q {
			if k != "$skiptoken" && k != "$skip" && k != "$inlinecount" {
				nq[k] = vs
			}
		}
		next := h.root + "/" + src.et.Set + "?" + nq.Encode()
		if len(nq) > 0 {
			next += "&"
		}
		next += "$skiptoken=" + strconv.Itoa(i) + "_" + strconv.Itoa(sent+emitted)
		_, _ = bw.WriteString(`,"__next":`)
		_, _ = bw.Write(appendJSONString(nil, next))
	}
	_, _ = bw.WriteString("}}")
	_ = bw.Flush()
}

func (h *handler) readBody(w http.ResponseWriter, r *http.Request) (json.RawMessage, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 8<<20))
	if err != nil {
		h.fail(w, http.StatusRequestEntityTooLarge, "/IWBEP/CM_MGW_RT/004", "Request body too large", "")
		return nil, false
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		h.fail(w, http.StatusUnsupportedMediaType, "/IWBEP/CM_MGW_RT/004",
			fmt.Sprintf("Content type '%s' is not supported; send application/json", ct), "")
		return nil, false
	}
	return body, true
}

func (h *handler) writeFailure(w http.ResponseWriter, err error) {
	var be *businessError
	var pe *precondition
	switch {
	case errors.As(err, &be):
		h.fail(w, http.StatusBadRequest, be.code, be.msg, be.target)
	case errors.As(err, &pe):
		h.fail(w, pe.status, "/IWBEP/CM_MGW_RT/007", pe.msg, "")
	case errors.Is(err, errNotFound):
		h.fail(w, http.StatusNotFound, "/IWBEP/CM_MGW_RT/020", "Resource not found", "")
	default:
		h.fail(w, http.StatusInternalServerError, "/IWBEP/CM_MGW_RT/000", err.Error(), "")
	}
}

func (h *handler) create(w http.ResponseWriter, r *http.Request, src *source) {
	if src.et != etASalesOrderType {
		h.fail(w, http.StatusMethodNotAllowed, "/IWBEP/CM_MGW_RT/021",
			fmt.Sprintf("The method 'CREATE_ENTITY' is not implemented for %s", src.et.Set), "")
		return
	}
	body, ok := h.readBody(w, r)
	if !ok {
		return
	}
	in, fe := decodePayload(src.et, body, false, "")
	if fe != nil {
		h.fail(w, http.StatusBadRequest, fe.code, fe.msg, fe.prop)
		return
	}
	t := txFrom(r.Context())
	so, err := h.s.createSalesOrder(in, t)
	if err != nil {
		h.writeFailure(w, err)
		return
	}
	if t == nil { // not inside a $batch changeset
		h.s.mu.Lock()
		drop := h.s.faults.dropCreate(h.s.rng, h.service)
		if drop {
			h.s.stats.DroppedCreates++
		}
		h.s.mu.Unlock()
		if drop {
			h.s.log.Info("fault: sales order committed, answer dropped", "salesOrder", so["SalesOrder"])
			resetConnection(w)
			return
		}
	}
	enc := &encoder{root: h.root}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Location", h.root+"/A_SalesOrder('"+so["SalesOrder"].(string)+"')")
	w.Header().Set("ETag", etagOf(src.et, so))
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(append(enc.appendRecord([]byte(`{"d":`), src.et, so, nil, map[string]bool{"to_Item": true}), '}'))
}

func (h *handler) update(w http.ResponseWriter, r *http.Request, src *source, pred string) {
	if src.et != etASalesOrderType && src.et != etABusinessPartnerType {
		h.fail(w, http.StatusMethodNotAllowed, "/IWBEP/CM_MGW_RT/021",
			fmt.Sprintf("The method 'UPDATE_ENTITY' is not implemented for %s", src.et.Set), "")
		return
	}
	keys, err := parseKeys(src.et, pred)
	if err != nil {
		h.fail(w, http.StatusBadRequest, "/IWBEP/CM_MGW_RT/020", err.Error(), "")
		return
	}
	body, ok := h.readBody(w, r)
	if !ok {
		return
	}
	patch, fe := decodePayload(src.et, body, true, "")
	if fe != nil {
		h.fail(w, http.StatusBadRequest, fe.code, fe.msg, fe.prop)
		return
	}
	t := txFrom(r.Context())
	if src.et == etASalesOrderType {
		err = h.s.updateSalesOrder(keys["SalesOrder"], patch, r.Header.Get("If-Match"), t)
	} else {
		err = h.s.updateBusinessPartner(keys["BusinessPartner"], patch, r.Header.Get("If-Match"), t)
	}
	if err != nil {
		h.writeFailure(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// functionParam reads a function import parameter literal ('x' or datetimeoffset'...').
func functionParam(q url.Values, name string) (string, bool) {
	v := q.Get(name)
	if i := strings.IndexByte(v, '\''); i >= 0 && strings.HasSuffix(v, "'") && len(v) >= i+2 {
		return strings.ReplaceAll(v[i+1:len(v)-1], "''", "'"), true
	}
	return "", false
}

// availability answers DetermineAvailabilityAt: the plant's generated stock minus what open simulated orders
// already confirmed from it.
func (h *handler) availability(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	plant, ok1 := functionParam(q, "SupplyingPlant")
	mat, ok2 := functionParam(q, "Material")
	_, ok3 := functionParam(q, "ATPCheckingRule")
	at, ok4 := functionParam(q, "RequestedUTCDateTime")
	if !ok1 || !ok2 || !ok3 || !ok4 {
		h.fail(w, http.StatusBadRequest, "/IWBEP/CM_MGW_RT/004",
			"Parameters SupplyingPlant, Material, ATPCheckingRule and RequestedUTCDateTime are required", "")
		return
	}
	when, err := parseDateLiteral(at)
	if err != nil {
		h.fail(w, http.StatusBadRequest, "/IWBEP/CM_MGW_RT/004", "Invalid RequestedUTCDateTime: "+err.Error(), "RequestedUTCDateTime")
		return
	}
	pi, ok := productIndex(mat)
	p := -1
	for i, pl := range h.s.opts.Plants {
		if pl == plant {
			p = i
		}
	}
	if !ok || pi >= h.s.opts.Products || p < 0 {
		h.fail(w, http.StatusBadRequest, "V1/392", fmt.Sprintf("Material %s is not maintained in plant %s", mat, plant), "Material")
		return
	}
	avail := ratOf(h.s.gen.stockQty(pi, p))
	for _, so := range h.s.store.snapshotOrders(nil) {
		for _, it := range so["to_Item"].([]record) {
			if it["Material"] == mat && it["ProductionPlant"] == plant && it["DeliveryStatus"] != "C" {
				avail.Sub(avail, ratOf(fmt.Sprint(it["ConfdDelivQtyInOrderQtyUnit"])))
			}
		}
	}
	if avail.Sign() < 0 {
		avail = new(big.Rat)
	}
	rec := record{
		"PeriodStartUTCDateTime":      when.Truncate(24 * time.Hour),
		"PeriodStartTimeZone":         "UTC",
		"PeriodEndUTCDateTime":        validTo,
		"PeriodEndTimeZone":           "UTC",
		"AvailableQuantityInBaseUnit": avail.FloatString(3),
		"BaseUnit":                    h.s.gen.baseUnit(pi),
	}
	b := []byte(`{"d":{"DetermineAvailabilityAt":{"__metadata":{"type":"API_PRODUCT_AVAILY_INFO_BASIC.AvailabilityRecord"}`)
	for _, pr := range etAvailabilityRecord.Props {
		b = append(b, ',', '"')
		b = append(b, pr.Name...)
		b = append(b, '"', ':')
		b = appendValue(b, pr, rec[pr.Name])
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(append(b, "}}}"...))
}

// metadata serves SAP's EDMX from Options.EDMXDir when present, else a minimal EDMX from the simulator's tables.
func (h *handler) metadata(w http.ResponseWriter) {
	if dir := h.s.opts.EDMXDir; dir != "" {
		if data, err := os.ReadFile(filepath.Join(dir, h.service+".edmx")); err == nil {
			w.Header().Set("Content-Type", "application/xml")
			_, _ = w.Write(data)
			return
		}
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><edmx:Edmx Version="1.0" xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx" xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata" xmlns:sap="http://www.sap.com/Protocols/SAPData"><edmx:DataServices m:DataServiceVersion="2.0">`)
	fmt.Fprintf(&b, `<Schema Namespace="%s" xml:lang="en" xmlns="http://schemas.microsoft.com/ado/2008/09/edm">`, h.service)
	var sets []*entityType
	for _, et := range generatedTypes {
		if et.Service != h.service {
			continue
		}
		kind := "EntityType"
		if et.Set == "" {
			kind = "ComplexType"
		} else {
			sets = append(sets, et)
		}
		fmt.Fprintf(&b, `<%s Name="%s">`, kind, et.Name)
		if len(et.Keys) > 0 {
			b.WriteString("<Key>")
			for _, k := range et.Keys {
				fmt.Fprintf(&b, `<PropertyRef Name="%s"/>`, k)
			}
			b.WriteString("</Key>")
		}
		for _, p := range et.Props {
			fmt.Fprintf(&b, `<Property Name="%s" Type="%s"`, p.Name, p.Type)
			if p.MaxLen > 0 {
				fmt.Fprintf(&b, ` MaxLength="%d"`, p.MaxLen)
			}
			if p.Type == edmDecimal {
				fmt.Fprintf(&b, ` Precision="%d" Scale="%d"`, p.Precision, p.Scale)
			}
			if p.Flags&notNull != 0 {
				b.WriteString(` Nullable="false"`)
			}
			if p.Name == et.ETagProp {
				b.WriteString(` ConcurrencyMode="Fixed"`)
			}
			b.WriteString("/>")
		}
		fmt.Fprintf(&b, `</%s>`, kind)
	}
	fmt.Fprintf(&b, `<EntityContainer Name="%s_Entities" m:IsDefaultEntityContainer="true">`, h.service)
	for _, et := range sets {
		fmt.Fprintf(&b, `<EntitySet Name="%s" EntityType="%s.%s"/>`, et.Set, h.service, et.Name)
	}
	b.WriteString(`</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>`)
	w.Header().Set("Content-Type", "application/xml")
	_, _ = io.WriteString(w, b.String())
}

const maxSortRows = 200_000

func sortRecords(rows []record, keys []orderKey) {
	slices.SortStableFunc(rows, func(a, b record) int {
		for _, k := range keys {
			c, _ := compareValue(k.prop, a[k.prop.Name], litOf(k.prop, b[k.prop.Name]))
			if k.desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
}

// litOf turns a record value into the literal form compareValue expects.
func litOf(p prop, v any) any {
	switch p.Type {
	case edmDecimal:
		s, _ := v.(string)
		if s == "" {
			s = "0"
		}
		return ratOf(s)
	case edmString, edmGuid, edmTime:
		s, _ := v.(string)
		return s
	case edmBoolean:
		b, _ := v.(bool)
		return b
	case edmInt32:
		n, _ := v.(int64)
		return n
	}
	return v
}
