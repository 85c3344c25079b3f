package sap_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/d365sap/d365sap/infra/local/sapsim"
	"github.com/d365sap/d365sap/shared/sap"
)

// Pushing an order safely: create once; if the answer is lost, look the order up by the customer's purchase
// order number instead of creating it again.
func Example() {
	sim := sapsim.New(sapsim.Options{Username: "USER", Password: "secret", Faults: sapsim.Faults{DropCreateNext: 1}})
	ts := httptest.NewServer(sim)
	defer ts.Close()

	// Every value comes from the settings in main (SAP_AUTH_MODE, SAP_TIMEOUT, ...): the client has no defaults.
	c, err := sap.New(sap.Options{BaseURL: ts.URL, AuthMode: sap.AuthBasic, Username: "USER", Password: "secret",
		Timeout: 30 * time.Second, MaxResponseBytes: 32 << 20, ReadRetries: 4})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	order := sap.SalesOrderCreate{
		SalesOrderType: "OR", SalesOrganization: "1010", DistributionChannel: "10", OrganizationDivision: "00",
		SoldToParty: sapsim.CustomerID(0), PurchaseOrderByCustomer: "CRM-ORDER-42",
		Items: []sap.SalesOrderItemCreate{{Material: sapsim.ProductID(0), RequestedQuantity: sap.MustDecimal("2")}},
	}
	_, err = c.CreateSalesOrder(ctx, order)
	if errors.Is(err, sap.ErrOutcomeUnknown) {
		// No answer: the order may exist. Look before creating again.
		found, err := c.FindSalesOrders(ctx, order.PurchaseOrderByCustomer, order.SoldToParty)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println("orders found after the lost answer:", len(found), "number", found[0].SalesOrder)
	}

	order.SoldToParty = "99999999"
	_, err = c.CreateSalesOrder(ctx, order)
	var sapErr *sap.Error
	if errors.As(err, &sapErr) && sapErr.BusinessError() {
		fmt.Println("SAP refused:", sapErr.Code)
	}
	// Output:
	// orders found after the lost answer: 1 number 1
	// SAP refused: V1/320
}
