package sap

import (
	"context"
	"fmt"
	"net/http"
)

// OutboundDelivery is A_OutbDeliveryHeader with its items.
type OutboundDelivery struct {
	Metadata                   Metadata                       `json:"__metadata"`
	DeliveryDocument           string                         `json:"DeliveryDocument"`
	DeliveryDocumentType       string                         `json:"DeliveryDocumentType"`
	SoldToParty                string                         `json:"SoldToParty"`
	ShipToParty                string                         `json:"ShipToParty"`
	OverallGoodsMovementStatus string                         `json:"OverallGoodsMovementStatus"`
	OverallPickingStatus       string                         `json:"OverallPickingStatus"`
	ActualGoodsMovementDate    DateTime                       `json:"ActualGoodsMovementDate"`
	PlannedGoodsIssueDate      DateTime                       `json:"PlannedGoodsIssueDate"`
	DeliveryDate               DateTime                       `json:"DeliveryDate"`
	BillOfLading               string                         `json:"BillOfLading"`
	MeansOfTransport           string                         `json:"MeansOfTransport"`
	LastChangeDate             DateTime                       `json:"LastChangeDate"`
	Items                      Expanded[OutboundDeliveryItem] `json:"to_DeliveryDocumentItem"`
}

// OutboundDeliveryItem is A_OutbDeliveryItem; ReferenceSDDocument is the sales order.
type OutboundDeliveryItem struct {
	DeliveryDocument        string  `json:"DeliveryDocument"`
	DeliveryDocumentItem    string  `json:"DeliveryDocumentItem"`
	Material                string  `json:"Material"`
	ActualDeliveryQuantity  Decimal `json:"ActualDeliveryQuantity"`
	DeliveryQuantityUnit    string  `json:"DeliveryQuantityUnit"`
	Plant                   string  `json:"Plant"`
	ReferenceSDDocument     string  `json:"ReferenceSDDocument"`
	ReferenceSDDocumentItem string  `json:"ReferenceSDDocumentItem"`
}

// GetOutboundDelivery reads a delivery with its items.
func (c *Client) GetOutboundDelivery(ctx context.Context, delivery string) (OutboundDelivery, error) {
	var out OutboundDelivery
	resp, err := c.do(ctx, request{method: http.MethodGet, service: ServiceDelivery,
		path: "A_OutbDeliveryHeader" + keyString("", delivery), query: "$expand=to_DeliveryDocumentItem"})
	if err == nil {
		err = decodeEntity(resp, &out)
	}
	if err != nil {
		return OutboundDelivery{}, fmt.Errorf("reading SAP outbound delivery %s: %w", delivery, err)
	}
	return out, nil
}

// BillingDocument is A_BillingDocument with its items. A cancellation is a document of its own (SD category N, or S
// for a credit memo's) that names the one it cancels in CancelledBillingDocument; the cancelled one says so in
// BillingDocumentIsCancelled. InvoiceClearingStatus is financial accounting's: blank not relevant, A to be
// cleared, B partially cleared, C cleared (paid).
type BillingDocument struct {
	Metadata                   Metadata                      `json:"__metadata"`
	BillingDocument            string                        `json:"BillingDocument"`
	BillingDocumentType        string                        `json:"BillingDocumentType"`
	BillingDocumentCategory    string                        `json:"BillingDocumentCategory"`
	SDDocumentCategory         string                        `json:"SDDocumentCategory"`
	BillingDocumentDate        DateTime                      `json:"BillingDocumentDate"`
	SalesOrganization          string                        `json:"SalesOrganization"`
	SoldToParty                string                        `json:"SoldToParty"`
	PayerParty                 string                        `json:"PayerParty"`
	TotalNetAmount             Decimal                       `json:"TotalNetAmount"`
	TaxAmount                  Decimal                       `json:"TaxAmount"`
	TotalGrossAmount           Decimal                       `json:"TotalGrossAmount"`
	TransactionCurrency        string                        `json:"TransactionCurrency"`
	CustomerPaymentTerms       string                        `json:"CustomerPaymentTerms"`
	BillingDocumentIsCancelled bool                          `json:"BillingDocumentIsCancelled"`
	CancelledBillingDocument   string                        `json:"CancelledBillingDocument"`
	OverallBillingStatus       string                        `json:"OverallBillingStatus"`
	InvoiceClearingStatus      string                        `json:"InvoiceClearingStatus"`
	LastChangeDateTime         DateTimeOffset                `json:"LastChangeDateTime"`
	Items                      Expanded[BillingDocumentItem] `json:"to_Item"`
}

// BillingDocumentItem is A_BillingDocumentItem; SalesDocument is the sales order, ReferenceSDDocument the
// delivery it bills. Amounts are the item's in the document currency.
type BillingDocumentItem struct {
	BillingDocument         string                          `json:"BillingDocument"`
	BillingDocumentItem     string                          `json:"BillingDocumentItem"`
	Material                string                          `json:"Material"`
	BillingDocumentItemText string                          `json:"BillingDocumentItemText"`
	BillingQuantity         Decimal                         `json:"BillingQuantity"`
	BillingQuantityUnit     string                          `json:"BillingQuantityUnit"`
	NetAmount               Decimal                         `json:"NetAmount"`
	TaxAmount               Decimal                         `json:"TaxAmount"`
	GrossAmount             Decimal                         `json:"GrossAmount"`
	SalesDocument           string                          `json:"SalesDocument"`
	SalesDocumentItem       string                          `json:"SalesDocumentItem"`
	ReferenceSDDocument     string                          `json:"ReferenceSDDocument"`
	PricingElements         Expanded[BillingPricingElement] `json:"to_PricingElement"`
}

// BillingPricingElement is A_BillingDocumentItemPrcgElmnt: one condition of an item's pricing. ConditionClass
// B is a price, A a discount or surcharge, D a tax; the rate is per ConditionQuantity ConditionQuantityUnit.
type BillingPricingElement struct {
	ConditionType            string  `json:"ConditionType"`
	ConditionClass           string  `json:"ConditionClass"`
	ConditionRateValue       Decimal `json:"ConditionRateValue"`
	ConditionCurrency        string  `json:"ConditionCurrency"`
	ConditionQuantity        Decimal `json:"ConditionQuantity"`
	ConditionQuantityUnit    string  `json:"ConditionQuantityUnit"`
	ConditionAmount          Decimal `json:"ConditionAmount"`
	ConditionInactiveReason  string  `json:"ConditionInactiveReason"`
	ConditionIsForStatistics bool    `json:"ConditionIsForStatistics"`
}

// GetBillingDocument reads a billing document with its items.
func (c *Client) GetBillingDocument(ctx context.Context, billingDocument string) (BillingDocument, error) {
	var out BillingDocument
	resp, err := c.do(ctx, request{method: http.MethodGet, service: ServiceBilling,
		path: "A_BillingDocument" + keyString("", billingDocument), query: "$expand=to_Item"})
	if err == nil {
		err = decodeEntity(resp, &out)
	}
	if err != nil {
		return BillingDocument{}, fmt.Errorf("reading SAP billing document %s: %w", billingDocument, err)
	}
	return out, nil
}

// GetBillingDocumentPriced reads a billing document with its items and each item's pricing elements, what an
// invoice is built from.
func (c *Client) GetBillingDocumentPriced(ctx context.Context, billingDocument string) (BillingDocument, error) {
	var out BillingDocument
	resp, err := c.do(ctx, request{method: http.MethodGet, service: ServiceBilling,
		path: "A_BillingDocument" + keyString("", billingDocument), query: "$expand=to_Item,to_Item/to_PricingElement"})
	if err == nil {
		err = decodeEntity(resp, &out)
	}
	if err != nil {
		return BillingDocument{}, fmt.Errorf("reading SAP billing document %s with its pricing: %w", billingDocument, err)
	}
	return out, nil
}

// BillingDocuments streams A_BillingDocument rows matching q (headers only unless q expands).
func (c *Client) BillingDocuments(ctx context.Context, q Query) *Rows[BillingDocument] {
	return newRows[BillingDocument](ctx, c, ServiceBilling, "A_BillingDocument", q)
}
