package dvsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Insert seeds a row: the Web API's validation of columns, types and binds ("<nav>@odata.bind", deep insert),
// without authentication, limits or faults. A seed is not an API create: a product starts Active, as a published
// catalog is, and needs no unit group (see catalog.go). It returns the new row's id.
func (s *Server) Insert(set string, rec map[string]any) (string, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return "", fmt.Errorf("encoding row: %w", err)
	}
	body, aerr := decodeBody(b)
	if aerr != nil {
		return "", aerr
	}
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	td, ok := s.store.tables[set]
	if !ok {
		return "", fmt.Errorf("inserting into %s: no such table", set)
	}
	x := s.store.begin()
	x.seed = true
	r, _, aerr := s.create(x, td, body, nil)
	if aerr != nil {
		x.rollback()
		return "", fmt.Errorf("inserting into %s: %w", set, aerr)
	}
	return r.id, nil
}

// Patch updates an existing row as PATCH with If-Match: * would (a user editing it in Dynamics), without
// authentication, limits or faults.
func (s *Server) Patch(set, id string, rec map[string]any) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encoding row: %w", err)
	}
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	td, ok := s.store.tables[set]
	if !ok {
		return fmt.Errorf("updating %s: no such table", set)
	}
	x := s.store.begin()
	resp := s.patch(x, td, keySpec{id: strings.ToLower(id)}, &apiRequest{header: http.Header{"If-Match": {"*"}}, body: b}, nil)
	if resp.status >= 400 {
		x.rollback()
		return fmt.Errorf("updating %s(%s): status %d", set, id, resp.status)
	}
	return nil
}

// Get returns a row in its Web API shape (all columns, lookups as _x_value, @odata.etag).
func (s *Server) Get(set, id string) (map[string]any, bool) {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	td, ok := s.store.tables[set]
	if !ok {
		return nil, false
	}
	r, ok := td.rows[strings.ToLower(id)]
	if !ok {
		return nil, false
	}
	return s.render(td, r, queryOpts{}), true
}

// Find returns the rows whose column equals value (compared as the $filter eq operator does).
func (s *Server) Find(set, column string, value any) []map[string]any {
	if n, ok := value.(int); ok {
		value = json.Number(fmt.Sprint(n))
	}
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	td, ok := s.store.tables[set]
	if !ok {
		return nil
	}
	var out []map[string]any
	for _, r := range sortedRows(td, nil) {
		if c, ok := compareValues(r.values[column], value); ok && c == 0 {
			out = append(out, s.render(td, r, queryOpts{}))
		}
	}
	return out
}

// Count returns the number of rows in a table.
func (s *Server) Count(set string) int {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	if td, ok := s.store.tables[set]; ok {
		return len(td.rows)
	}
	return 0
}

// Delete removes a row (and an order's lines), recording the deletion for change tracking.
func (s *Server) Delete(set, id string) error {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	td, ok := s.store.tables[set]
	if !ok {
		return fmt.Errorf("deleting from %s: no such table", set)
	}
	resp := s.deleteHandler(s.store.begin(), td, keySpec{id: strings.ToLower(id)}, &apiRequest{header: http.Header{}})
	if resp.status >= 400 {
		return fmt.Errorf("deleting %s(%s): status %d", set, id, resp.status)
	}
	return nil
}

// SeedOptions says how many rows of each kind Seed creates.
type SeedOptions struct {
	Accounts      int `json:"accounts"`
	Products      int `json:"products"`
	Orders        int `json:"orders"`
	LinesPerOrder int `json:"linesPerOrder"`
	// AccountNumbers and ProductNumbers, when set, number the first accounts and products (so that they match
	// another system's, e.g. the SAP simulator's customers and materials); Seed creates at least that many.
	AccountNumbers []string `json:"accountNumbers,omitempty"`
	ProductNumbers []string `json:"productNumbers,omitempty"`
}

// Seeded lists the ids Seed created, in creation order.
type Seeded struct {
	UoMSchedule string   `json:"uomSchedule"` // the unit group of UoM, "Default Unit"
	UoM         string   `json:"uom"`
	PriceLevel  string   `json:"priceLevel"`
	Accounts    []string `json:"accounts"`
	Products    []string `json:"products"`
	Orders      []string `json:"orders"`
}

// Seed creates a unit (in a unit group), a price list, accounts (accountnumber 0000100001... unless AccountNumbers
// says), Active products (productnumber MAT-000001... unless ProductNumbers says) with prices, and active orders
// whose lines point at the products. Orders need at least one account and one product.
func (s *Server) Seed(o SeedOptions) (Seeded, error) {
	var out Seeded
	var err error
	o.Accounts, o.Products = max(o.Accounts, len(o.AccountNumbers)), max(o.Products, len(o.ProductNumbers))
	number := func(given []string, i int, generated string) string {
		if i <= len(given) {
			return given[i-1]
		}
		return generated
	}
	// The unit group a fresh org has, with the units the shipped value map reads SAP's base units as, so that the
	// inventory sync's shipped mapping finds what it gives new products.
	group, err := s.Insert("uomschedules", map[string]any{"name": "Default Unit", "baseuomname": "Primary Unit"})
	if err != nil {
		return out, err
	}
	out.UoMSchedule = group
	inGroup := "/uomschedules(" + group + ")"
	if out.UoM, err = s.Insert("uoms", map[string]any{"name": "Primary Unit", "quantity": json.Number("1"),
		"isschedulebaseuom": true, "uomscheduleid@odata.bind": inGroup}); err != nil {
		return out, err
	}
	for _, u := range []string{"Each", "Piece", "Kilogram"} {
		if _, err := s.Insert("uoms", map[string]any{"name": u, "quantity": json.Number("1"), "uomscheduleid@odata.bind": inGroup}); err != nil {
			return out, err
		}
	}
	if out.PriceLevel, err = s.Insert("pricelevels", map[string]any{"name": "Default"}); err != nil {
		return out, err
	}
	for i := 1; i <= o.Accounts; i++ {
		id, err := s.Insert("accounts", map[string]any{"name": fmt.Sprintf("Customer %d", i),
			"accountnumber": number(o.AccountNumbers, i, fmt.Sprintf("%010d", 100000+i)), "paymenttermscode": json.Number("1"),
			"address1_city": "Walldorf", "address1_country": "DE", "creditlimit": json.Number("10000.00")})
		if err != nil {
			return out, err
		}
		out.Accounts = append(out.Accounts, id)
	}
	for i := 1; i <= o.Products; i++ {
		id, err := s.Insert("products", map[string]any{"name": fmt.Sprintf("Material %d", i),
			"productnumber": number(o.ProductNumbers, i, fmt.Sprintf("MAT-%06d", i)), "quantityonhand": json.Number("100"),
			"defaultuomid@odata.bind": "/uoms(" + out.UoM + ")", "defaultuomscheduleid@odata.bind": "/uomschedules(" + out.UoMSchedule + ")",
			"quantitydecimal": json.Number("2"), "price": json.Number(fmt.Sprintf("%d.50", 10+i%90))})
		if err != nil {
			return out, err
		}
		out.Products = append(out.Products, id)
		if _, err := s.Insert("productpricelevels", map[string]any{"amount": json.Number(fmt.Sprintf("%d.50", 10+i%90)),
			"productid@odata.bind": "/products(" + id + ")", "pricelevelid@odata.bind": "/pricelevels(" + out.PriceLevel + ")",
			"uomid@odata.bind": "/uoms(" + out.UoM + ")"}); err != nil {
			return out, err
		}
	}
	if o.Orders > 0 && (len(out.Accounts) == 0 || len(out.Products) == 0) {
		return out, fmt.Errorf("seeding orders: needs accounts and products")
	}
	for i := 1; i <= o.Orders; i++ {
		var lines []any
		for l := 0; l < o.LinesPerOrder; l++ {
			p := out.Products[(i+l)%len(out.Products)]
			lines = append(lines, map[string]any{"productid@odata.bind": "/products(" + p + ")",
				"uomid@odata.bind": "/uoms(" + out.UoM + ")", "quantity": json.Number(fmt.Sprint(l + 1)),
				"priceperunit": json.Number("12.50"), "ispriceoverridden": true, "lineitemnumber": json.Number(fmt.Sprint(l + 1))})
		}
		rec := map[string]any{"name": fmt.Sprintf("Order %d", i),
			"customerid_account@odata.bind": "/accounts(" + out.Accounts[i%len(out.Accounts)] + ")",
			"pricelevelid@odata.bind":       "/pricelevels(" + out.PriceLevel + ")",
			"requestdeliveryby":             time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC).Format("2006-01-02"),
			"paymenttermscode":              json.Number("1")}
		if len(lines) > 0 {
			rec["order_details"] = lines
		}
		id, err := s.Insert("salesorders", rec)
		if err != nil {
			return out, err
		}
		out.Orders = append(out.Orders, id)
	}
	return out, nil
}

// adminFaults is Faults with durations as Go duration strings ("50ms"), for the admin endpoint.
type adminFaults struct {
	LatencyMin string   `json:"latencyMin"`
	LatencyMax string   `json:"latencyMax"`
	Reset      float64  `json:"reset"`
	Error500   float64  `json:"error500"`
	Error503   float64  `json:"error503"`
	Error429   float64  `json:"error429"`
	CommitDrop float64  `json:"commitDrop"`
	Only       []string `json:"only"`
}

// serveAdmin: POST /_admin/faults, POST /_admin/seed, POST /_admin/expire-change-tokens, GET /_admin/stats,
// GET /_admin/rows/{set}/{id}. Local use only; the simulator binds to loopback by default.
func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/_admin/")
	switch {
	case path == "faults" && r.Method == http.MethodPost:
		var af adminFaults
		if err := json.NewDecoder(r.Body).Decode(&af); err != nil {
			writeJSON(w, 400, map[string]string{"error": err.Error()})
			return
		}
		f := Faults{Reset: af.Reset, Error500: af.Error500, Error503: af.Error503, Error429: af.Error429,
			CommitDrop: af.CommitDrop, Only: af.Only}
		for _, d := range []struct {
			src string
			dst *time.Duration
		}{{af.LatencyMin, &f.LatencyMin}, {af.LatencyMax, &f.LatencyMax}} {
			if d.src == "" {
				continue
			}
			v, err := time.ParseDuration(d.src)
			if err != nil {
				writeJSON(w, 400, map[string]string{"error": err.Error()})
				return
			}
			*d.dst = v
		}
		s.SetFaults(f)
		writeJSON(w, 200, map[string]any{"injected": s.Injected()})
	case path == "seed" && r.Method == http.MethodPost:
		var o SeedOptions
		if err := json.NewDecoder(r.Body).Decode(&o); err != nil {
			writeJSON(w, 400, map[string]string{"error": err.Error()})
			return
		}
		out, err := s.Seed(o)
		if err != nil {
			writeJSON(w, 400, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, 200, out)
	case path == "expire-change-tokens" && r.Method == http.MethodPost:
		s.ExpireChangeTokens()
		w.WriteHeader(204)
	case path == "stats" && r.Method == http.MethodGet:
		writeJSON(w, 200, map[string]any{"users": s.Stats(), "injected": s.Injected(), "writes": s.AllWrites()})
	case strings.HasPrefix(path, "rows/") && r.Method == http.MethodGet:
		set, id, _ := strings.Cut(strings.TrimPrefix(path, "rows/"), "/")
		row, ok := s.Get(set, id)
		if !ok {
			writeJSON(w, 404, map[string]string{"error": "no such row"})
			return
		}
		writeJSON(w, 200, row)
	default:
		writeJSON(w, 404, map[string]string{"error": "unknown admin endpoint"})
	}
}
