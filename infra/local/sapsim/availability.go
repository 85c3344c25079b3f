package sapsim

import (
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// functionParam reads a function import parameter literal ('x' or datetimeoffset'...').
func functionParam(q url.Values, name string) (string, bool) {
	v := q.Get(name)
	if i := strings.IndexByte(v, '\''); i >= 0 && strings.HasSuffix(v, "'") && len(v) >= i+2 {
		return strings.ReplaceAll(v[i+1:len(v)-1], "''", "'"), true
	}
	return "", false
}

// availability answers DetermineAvailabilityAt: the plant's unrestricted stock (no special stock) minus what open simulated orders
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
	v := h.master()
	avail := v.unrestricted(pi, plant)
	orders, _ := h.s.store.snapshotOrders(nil, 0, time.Time{})
	for _, so := range orders {
		for _, it := range so["to_Item"].([]record) {
			if it["Material"] == mat && it["ProductionPlant"] == plant && it["DeliveryStatus"] != "C" {
				// Confirmed in the order unit; stock is in the base unit.
				if q, ok := v.toBase(pi, fmt.Sprint(it["RequestedQuantityUnit"]), ratOf(fmt.Sprint(it["ConfdDelivQtyInOrderQtyUnit"]))); ok {
					avail.Sub(avail, q)
				}
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
		"BaseUnit":                    v.baseUnit(pi),
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
