package dvsim

import (
	"slices"
	"testing"
)

// Given numbers go to the first rows, generated ones to the rest, and a list longer than the count adds rows:
// make run seeds accounts and products the SAP simulator knows this way.
func TestSeedNumbers(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		opts                 SeedOptions
		accounts, products   []string
		firstOrderCustomerNo string
	}{
		{name: "generated", opts: SeedOptions{Accounts: 2, Products: 1},
			accounts: []string{"0000100001", "0000100002"}, products: []string{"MAT-000001"}},
		{name: "given", opts: SeedOptions{AccountNumbers: []string{"10100002"}, ProductNumbers: []string{"SIM0000001", "SIM0000002"},
			Orders: 1, LinesPerOrder: 2},
			accounts: []string{"10100002"}, products: []string{"SIM0000001", "SIM0000002"}, firstOrderCustomerNo: "10100002"},
		{name: "given and generated", opts: SeedOptions{Accounts: 2, AccountNumbers: []string{"10100002"}, Products: 2,
			ProductNumbers: []string{"SIM0000001"}},
			accounts: []string{"10100002", "0000100002"}, products: []string{"SIM0000001", "MAT-000002"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := start(t, Options{})
			seeded, err := r.Seed(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var accounts, products []string
			for _, id := range seeded.Accounts {
				row, _ := r.Get("accounts", id)
				accounts = append(accounts, row["accountnumber"].(string))
			}
			for _, id := range seeded.Products {
				row, _ := r.Get("products", id)
				products = append(products, row["productnumber"].(string))
			}
			if !slices.Equal(accounts, tc.accounts) || !slices.Equal(products, tc.products) {
				t.Errorf("accounts %v, products %v; want %v, %v", accounts, products, tc.accounts, tc.products)
			}
			if tc.firstOrderCustomerNo == "" {
				return
			}
			order, _ := r.Get("salesorders", seeded.Orders[0])
			customer, _ := r.Get("accounts", order["_customerid_value"].(string))
			if customer["accountnumber"] != tc.firstOrderCustomerNo || r.Count("salesorderdetails") != tc.opts.LinesPerOrder {
				t.Errorf("order's customer %v, %d lines", customer["accountnumber"], r.Count("salesorderdetails"))
			}
		})
	}
}
