package sapsim

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
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
	"API_SALES_ORDER_SRV":               {sets: []string{"A_SalesOrder", "A_SalesOrderItem", "A_SalesOrderText"}},
	"API_MATERIAL_STOCK_SRV":            {sets: []string{"A_MatlStkInAcctMod"}},
	"API_PRODUCT_SRV":                   {sets: []string{"A_Product", "A_ProductDescription", "A_ProductUnitsOfMeasure"}},
	"API_SLSPRICINGCONDITIONRECORD_SRV": {sets: []string{"A_SlsPrcgConditionRecord", "A_SlsPrcgCndnRecdValidity"}},
	"API_PRODUCT_AVAILY_INFO_BASIC":     {functions: []string{"DetermineAvailabilityAt"}},
	"API_BUSINESS_PARTNER":              {sets: []string{"A_BusinessPartner", "A_Customer", "A_CustomerSalesArea"}},
	"API_OUTBOUND_DELIVERY_SRV":         {sets: []string{"A_OutbDeliveryHeader", "A_OutbDeliveryItem"}},
	"API_BILLING_DOCUMENT_SRV":          {sets: []string{"A_BillingDocument", "A_BillingDocumentItem", "A_BillingDocumentItemPrcgElmnt"}},
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
	mv      *masterView // the master data this request reads (master())
}

// source is an entity set: n rows addressed by index, generated or copied from the store.
type source struct {
	et     *entityType
	n      int
	at     func(i int) record
	find   func(keys map[string]string) (int, bool) // candidate index for a key lookup
	narrow func(f *expr) (lo, hi int)
	// view, when it gives a source, is the few scattered rows a filter can match (nil: use narrow).
	view func(f *expr) *source
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
	byIndex := func(key string, parse func(string) (int, bool)) func(map[string]string) (int, bool) {
		return func(k map[string]string) (int, bool) { return parse(k[key]) }
	}
	switch set {
	case "A_SalesOrder", "A_SalesOrderItem", "A_SalesOrderText":
		var keep func(record) bool
		if f := q.Get("$filter"); f != "" && set == "A_SalesOrder" {
			keep = s.referenceFilter(f)
		}
		s.mu.Lock()
		lag := time.Duration(s.faults.SearchLag)
		s.mu.Unlock()
		orders, hidden := s.store.snapshotOrders(keep, lag, s.opts.Now())
		if hidden > 0 {
			s.mu.Lock()
			s.stats.ReadsMissingLagged++
			s.mu.Unlock()
		}
		if set == "A_SalesOrderText" {
			texts := textsOf(orders)
			return &source{et: etASalesOrderTextType, n: len(texts), at: func(i int) record { return texts[i] }}
		}
		if set == "A_SalesOrderItem" {
			var items []record
			for _, o := range orders {
				items = append(items, o["to_Item"].([]record)...)
			}
			return &source{et: etASalesOrderItemType, n: len(items), at: func(i int) record { return items[i] }}
		}
		return &source{et: s.soType, n: len(orders), at: func(i int) record { return orders[i] }}
	case "A_MatlStkInAcctMod":
		v := h.master()
		b := v.stockBlocks()
		return &source{et: etAMatlStkInAcctModType, n: b.size(), at: b.at,
			find: func(k map[string]string) (int, bool) {
				pi, ok := productIndex(k["Material"])
				if !ok {
					return 0, false
				}
				return b.find(pi, k, stockKeys)
			},
			narrow: func(f *expr) (int, int) {
				if m, ok := f.eqConstraint("Material"); ok {
					pi, ok := productIndex(m)
					if !ok {
						return 0, 0
					}
					return b.span(pi)
				}
				return 0, b.size()
			}}
	case "A_Product":
		v := h.master()
		return &source{et: etAProductType, n: g.products, at: v.product, find: byIndex("Product", productIndex),
			narrow: func(f *expr) (int, int) {
				if m, ok := f.eqConstraint("Product"); ok {
					pi, ok := productIndex(m)
					if !ok || pi >= g.products {
						return 0, 0
					}
					return pi, pi + 1
				}
				return 0, g.products
			},
			view: func(f *expr) *source {
				if _, ok := f.eqConstraint("Product"); ok {
					return nil
				}
				if t, ok := f.lowerBound("LastChangeDateTime"); ok {
					all := &source{et: etAProductType, n: g.products, at: v.product}
					return all.over(v.productsChangedSince(t))
				}
				return nil
			}}
	case "A_ProductDescription":
		b := h.master().descriptionBlocks()
		return &source{et: etAProductDescriptionType, n: b.size(), at: b.at,
			find: func(k map[string]string) (int, bool) {
				pi, ok := productIndex(k["Product"])
				if !ok {
					return 0, false
				}
				return b.find(pi, k, etAProductDescriptionType.Keys)
			},
			narrow: func(f *expr) (int, int) {
				if m, ok := f.eqConstraint("Product"); ok {
					pi, ok := productIndex(m)
					if !ok {
						return 0, 0
					}
					return b.span(pi)
				}
				return 0, b.size()
			}}
	case "A_ProductUnitsOfMeasure":
		return h.master().unitsSource()
	case "A_SlsPrcgConditionRecord":
		v := h.master()
		return &source{et: etASlsPrcgConditionRecordType, n: v.condCount(),
			at: func(pos int) record { return v.conditionRecord(v.condIndex(pos)) },
			find: func(k map[string]string) (int, bool) {
				idx, ok := conditionIndex(k["ConditionRecord"])
				if !ok {
					return 0, false
				}
				return v.condPos(idx)
			}}
	case "A_SlsPrcgCndnRecdValidity":
		v := h.master()
		b := v.validityBlocks()
		src := &source{et: etASlsPrcgCndnRecdValidityType, n: b.size(), at: b.at,
			find: func(k map[string]string) (int, bool) {
				idx, ok := conditionIndex(k["ConditionRecord"])
				if !ok {
					return 0, false
				}
				pos, ok := v.condPos(idx)
				if !ok {
					return 0, false
				}
				return b.find(pos, k, etASlsPrcgCndnRecdValidityType.Keys)
			}}
		src.view = func(f *expr) *source {
			if m, ok := f.eqConstraint("Material"); ok {
				pi, ok := productIndex(m)
				if !ok || pi >= g.products {
					return &source{et: src.et}
				}
				return src.over(v.validitySpans(pi))
			}
			return nil
		}
		return src
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
		return s.billingSource()
	case "A_BillingDocumentItem":
		return itemsOf(etABillingDocumentItemType, s.billingSource(), "to_Item")
	case "A_BillingDocumentItemPrcgElmnt":
		items := itemsOf(etABillingDocumentItemType, s.billingSource(), "to_Item")
		return itemsOf(etABillingDocumentItemPrcgElmntType, items, "to_PricingElement")
	}
	return nil
}

// referenceFilter narrows a read of A_SalesOrder to the orders that can match the equality constraints on
// reference fields (customer reference, extension fields) among the filter's top-level "and" terms, so a lookup
// before a create copies only those orders however many the simulator holds; the full filter still runs on them.
func (s *Server) referenceFilter(filter string) func(record) bool {
	e, err := parseFilter(s.soType, filter)
	if err != nil {
		return nil
	}
	want := map[string]string{}
	for _, name := range append([]string{"PurchaseOrderByCustomer", "SalesOrder"}, slices.Sorted(maps.Keys(s.extFields))...) {
		if v, ok := e.eqConstraint(name); ok {
			want[name] = v
		}
	}
	if len(want) == 0 {
		return nil
	}
	return func(r record) bool {
		for k, v := range want {
			if got, _ := r[k].(string); got != v {
				return false
			}
		}
		return true
	}
}

func itemsOf(et *entityType, headers *source, navName string) *source {
	var items []record
	for i := range headers.n {
		rows, _ := headers.at(i)[navName].([]record)
		items = append(items, rows...)
	}
	return &source{et: et, n: len(items), at: func(i int) record { return items[i] }}
}

// documents serves generated documents numbered first+i, followed by those the lifecycle stored (deliveries).
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
		if i, ok := productIndex(fmt.Sprint(r["Product"])); ok && i < g.products {
			return h.master().descriptions(i), true
		}
	case "A_ProductType/to_ProductUnitsOfMeasure":
		if i, ok := productIndex(fmt.Sprint(r["Product"])); ok && i < g.products {
			return h.master().unitsOfMeasure(i), true
		}
	case "A_SlsPrcgConditionRecordType/to_SlsPrcgCndnRecdValidity":
		if i, ok := conditionIndex(fmt.Sprint(r["ConditionRecord"])); ok {
			if rows := h.master().conditionValidities(i); rows != nil {
				return rows, true
			}
		}
	case "A_SlsPrcgCndnRecdValidityType/to_SlsPrcgConditionRecord":
		if i, ok := conditionIndex(fmt.Sprint(r["ConditionRecord"])); ok {
			if rec := h.master().conditionRecord(i); rec != nil {
				return rec, true
			}
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
