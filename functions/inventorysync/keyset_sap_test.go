package inventorysync_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/d365sap/d365sap/functions/inventorysync"
	"github.com/d365sap/d365sap/shared/sap"
)

// fakeValidities answers A_SlsPrcgCndnRecdValidity as S/4HANA does without server paging: the rows ordered by
// Material (then ConditionRecord), "Material gt '…'" honoured, $top honoured. It counts the requests.
func fakeValidities(t *testing.T, materials []string, maxBytes int64) (*sap.Client, *atomic.Int64) {
	t.Helper()
	gt := regexp.MustCompile(`Material gt '([^']*)'`)
	within := regexp.MustCompile(`Material eq '([^']*)'\) and \(ConditionRecord gt '([^']*)'`)
	materialsOnly := regexp.MustCompile(`Material ne ''`)
	var asked atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if asked.Add(1) > 200 {
			http.Error(w, "too many requests", http.StatusTooManyRequests)
			return
		}
		q := r.URL.Query()
		top, _ := strconv.Atoi(q.Get("$top"))
		var after *string
		if m := gt.FindStringSubmatch(q.Get("$filter")); m != nil {
			after = &m[1]
		}
		var in []string // material and record a page resumes inside
		if m := within.FindStringSubmatch(q.Get("$filter")); m != nil {
			in = m[1:]
		}
		only := materialsOnly.MatchString(q.Get("$filter"))
		rows := []map[string]any{}
		for i, m := range materials {
			rec := fmt.Sprintf("%010d", i+1)
			if only && m == "" {
				continue
			}
			if after != nil && m <= *after && !(in != nil && m == in[0] && rec > in[1]) {
				continue
			}
			if top > 0 && len(rows) >= top {
				break
			}
			rows = append(rows, map[string]any{"ConditionRecord": fmt.Sprintf("%010d", i+1), "ConditionType": "PPR0",
				"Material": m, "SalesOrganization": "1010", "DistributionChannel": "10",
				"to_SlsPrcgConditionRecord": map[string]any{"ConditionRecord": fmt.Sprintf("%010d", i+1), "ConditionTable": "304",
					"ConditionRateValue": "1.00", "ConditionRateValueUnit": "EUR", "ConditionCurrency": "EUR",
					"ConditionQuantity": "1", "ConditionQuantityUnit": "EA"}})
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"d": map[string]any{"results": rows}})
	}))
	t.Cleanup(ts.Close)
	c, err := sap.New(sap.Options{BaseURL: ts.URL, AuthMode: sap.AuthBasic, Username: "U", Password: "P",
		Timeout: 5 * time.Second, MaxResponseBytes: maxBytes})
	if err != nil {
		t.Fatal(err)
	}
	return c, &asked
}

// Customer-only condition records (a key combination without material: Material "") sort first. The prices
// stream has no use for them, and the keyed pages must get past them: a page whose rows read whole end with them
// must not make the next page ask again from the start (an empty After is no bound at all), or the read never
// ends. The read asks SAP to leave them out, and reads every material's validity once.
func TestPricesKeysetGetsPastCustomerOnlyRecords(t *testing.T) {
	const size = 4
	for _, tc := range []struct {
		name       string
		noMaterial int // customer-only validities, sorted before every material
	}{
		{"fewer than a page, one material ends the page", size - 1},
		{"more than a page, grown page ends in one material", size + 2},
		{"none", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var materials []string
			for range tc.noMaterial {
				materials = append(materials, "")
			}
			for _, m := range []string{"M1", "M1", "M1", "M1", "M1", "M1", "M1", "M1", "M2", "M3"} {
				materials = append(materials, m)
			}
			c, asked := fakeValidities(t, materials, 64<<20)
			src := inventorysync.SAPSource{Client: c, PageSize: size}
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			n := 0
			var readErr error
			for _, err := range src.Prices(ctx, sap.PriceQuery{ByMaterial: true}).All() {
				if err != nil {
					readErr = err
					break
				}
				if n++; n > 10*len(materials) {
					break
				}
			}
			if want := len(materials) - tc.noMaterial; readErr != nil || n != want {
				t.Errorf("read %d validities of %d with a material (error %v) in %d requests", n, want, readErr, asked.Load())
			}
		})
	}
}

// A material priced for many customers (table 305: one validity per customer, all of one material) is read
// whole, as $skip pages read it: the keyed pages grow for one material's rows, and a grown page must neither
// pass SAP_MAX_RESPONSE_BYTES (a page of 1,000 validities with their records is about 6 MB, so with the default
// 32 MB the read fails from about 4,000 validities of one material) nor stop at 64 pages' worth of rows.
func TestPricesOfAMaterialWithManyCustomerPricesAreRead(t *testing.T) {
	const size = 10
	for _, tc := range []struct {
		name     string
		rows     int   // validities of material M1
		maxBytes int64 // SAP_MAX_RESPONSE_BYTES; one page of size rows is about 5 KB
	}{
		{"more rows than 64 pages", 64*size + 10, 64 << 20},
		{"a grown page past the response limit", 8 * size, 16 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			materials := []string{"M0"}
			for range tc.rows {
				materials = append(materials, "M1")
			}
			materials = append(materials, "M2")
			c, asked := fakeValidities(t, materials, tc.maxBytes)
			src := inventorysync.SAPSource{Client: c, PageSize: size}
			n := 0
			var readErr error
			for _, err := range src.Prices(t.Context(), sap.PriceQuery{ByMaterial: true}).All() {
				if err != nil {
					readErr = err
					break
				}
				n++
			}
			if readErr != nil || n != len(materials) {
				t.Errorf("read %d validities of %d in %d requests: %v", n, len(materials), asked.Load(), readErr)
			}
		})
	}
}
