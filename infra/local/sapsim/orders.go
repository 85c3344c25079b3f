package sapsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"
)

// OrderInfo is what a test needs to know about a stored sales order to count SAP orders per Dynamics order: the
// references the integration may have written and whether a person entered the order.
type OrderInfo struct {
	SalesOrder              string            `json:"salesOrder"`
	PurchaseOrderByCustomer string            `json:"purchaseOrderByCustomer"`
	SoldToParty             string            `json:"soldToParty"`
	CreatedByUser           string            `json:"createdByUser"`
	HandEntered             bool              `json:"handEntered"`
	Extensions              map[string]string `json:"extensions,omitempty"` // non-empty extension field values
	Texts                   []OrderText       `json:"texts,omitempty"`      // header texts
	CreatedAt               time.Time         `json:"createdAt"`            // when the create committed
}

// OrderText is a header text of a sales order.
type OrderText struct {
	Language   string `json:"language"`
	LongTextID string `json:"longTextId"`
	LongText   string `json:"longText"`
}

// Orders lists every stored sales order in number order, those a SearchLag still hides from reads included.
func (s *Server) Orders() []OrderInfo {
	st := s.store
	st.mu.Lock()
	defer st.mu.Unlock()
	out := make([]OrderInfo, 0, len(st.order))
	for _, id := range st.order {
		o, m := st.orders[id], st.meta[id]
		info := OrderInfo{SalesOrder: id, CreatedAt: m.committed, HandEntered: m.handEntered}
		info.PurchaseOrderByCustomer, _ = o["PurchaseOrderByCustomer"].(string)
		info.SoldToParty, _ = o["SoldToParty"].(string)
		info.CreatedByUser, _ = o["CreatedByUser"].(string)
		for name := range s.extFields {
			if v, _ := o[name].(string); v != "" {
				if info.Extensions == nil {
					info.Extensions = map[string]string{}
				}
				info.Extensions[name] = v
			}
		}
		texts, _ := o["to_Text"].([]record)
		for _, t := range texts {
			info.Texts = append(info.Texts, OrderText{Language: t["Language"].(string), LongTextID: t["LongTextID"].(string),
				LongText: t["LongText"].(string)})
		}
		out = append(out, info)
	}
	return out
}

// ManualOrder is a sales order as a clerk (VA01) or an EDI inbound would enter it: it carries whatever customer
// reference the customer sent, and no extension fields or texts unless given.
type ManualOrder struct {
	PurchaseOrderByCustomer string            `json:"purchaseOrderByCustomer"`
	SoldToParty             string            `json:"soldToParty"`
	SalesOrderType          string            `json:"salesOrderType,omitempty"` // default "OR"
	CreatedByUser           string            `json:"createdByUser,omitempty"`  // default "CLERK"
	Items                   []ManualItem      `json:"items"`
	Extensions              map[string]string `json:"extensions,omitempty"`
	Texts                   []OrderText       `json:"texts,omitempty"`
}

// ManualItem is one item of a ManualOrder; Unit defaults to the material's base unit.
type ManualItem struct {
	Material string `json:"material"`
	Quantity string `json:"quantity"`
	Unit     string `json:"unit,omitempty"`
}

// EnterOrder stores an order as entered by hand, with SAP's checks of customer, items, units and texts, and
// returns its number. It is marked hand-entered in Orders. Faults do not apply: no API call is involved.
func (s *Server) EnterOrder(m ManualOrder) (string, error) {
	in := record{
		"SalesOrderType": m.SalesOrderType, "SalesOrganization": SalesOrganization, "DistributionChannel": DistributionChannel,
		"OrganizationDivision": Division, "SoldToParty": m.SoldToParty, "PurchaseOrderByCustomer": m.PurchaseOrderByCustomer,
	}
	setDefault(in, "SalesOrderType", "OR")
	var problems []error
	for _, name := range slices.Sorted(maps.Keys(m.Extensions)) {
		v := m.Extensions[name]
		n, ok := s.extFields[name]
		switch {
		case !ok:
			problems = append(problems, fmt.Errorf("%s is not an extension field of this system", name))
		case abapLength(v) > n:
			problems = append(problems, fmt.Errorf("%s is longer than %d characters", name, n))
		default:
			in[name] = v
		}
	}
	var items []record
	for i, it := range m.Items {
		if !decimalFits(it.Quantity, 15, 3) {
			problems = append(problems, fmt.Errorf("item %d: quantity %q is not a decimal(15,3)", i, it.Quantity))
			continue
		}
		items = append(items, record{"Material": it.Material, "RequestedQuantity": canonicalDecimal(it.Quantity),
			"RequestedQuantityUnit": it.Unit})
	}
	in["to_Item"] = items
	var texts []record
	for _, t := range m.Texts {
		texts = append(texts, record{"Language": t.Language, "LongTextID": t.LongTextID, "LongText": t.LongText})
	}
	in["to_Text"] = texts
	if err := errors.Join(problems...); err != nil {
		return "", fmt.Errorf("entering sales order by hand: %w", err)
	}
	user := m.CreatedByUser
	if user == "" {
		user = "CLERK"
	}
	so, err := s.commitOrder(in, nil, origin{user: user, handEntered: true})
	if err != nil {
		return "", fmt.Errorf("entering sales order by hand: %w", err)
	}
	s.mu.Lock()
	s.stats.HandEntered++
	s.mu.Unlock()
	return so["SalesOrder"].(string), nil
}

func (s *Server) postOrder(w http.ResponseWriter, r *http.Request) {
	var m ManualOrder
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	id, err := s.EnterOrder(m)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"salesOrder": id})
}
