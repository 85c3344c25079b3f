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

// BillingDocument is A_BillingDocument with its items.
type BillingDocument struct {
	Metadata                   Metadata                      `json:"__metadata"`
	BillingDocument            string                        `json:"BillingDocument"`
	BillingDocumentType        string                        `json:"BillingDocumentType"`
	SDDocumentCategory         string                        `json:"SDDocumentCategory"`
	BillingDocumentDate        DateTime                      `json:"BillingDocumentDate"`
	SoldToParty                string                        `json:"SoldToParty"`
	PayerParty                 string                        `json:"PayerParty"`
	TotalNetAmount             Decimal                       `json:"TotalNetAmount"`
	TaxAmount                  Decimal                       `json:"TaxAmount"`
	TotalGrossAmount           Decimal                       `json:"TotalGrossAmount"`
	TransactionCurrency        string                        `json:"TransactionCurrency"`
	BillingDocumentIsCancelled bool                          `json:"BillingDocumentIsCancelled"`
	OverallBillingStatus       string                        `json:"OverallBillingStatus"`
	LastChangeDateTime         DateTimeOffset                `json:"LastChangeDateTime"`
	Items                      Expanded[BillingDocumentItem] `json:"to_Item"`
}

// BillingDocumentItem is A_BillingDocumentItem; SalesDocument is the sales order.
type BillingDocumentItem struct {
	BillingDocument     string  `json:"BillingDocument"`
	BillingDocumentItem string  `json:"BillingDocumentItem"`
	Material            string  `json:"Material"`
	BillingQuantity     Decimal `json:"BillingQuantity"`
	BillingQuantityUnit string  `json:"BillingQuantityUnit"`
	NetAmount           Decimal `json:"NetAmount"`
	SalesDocument       string  `json:"SalesDocument"`
	SalesDocumentItem   string  `json:"SalesDocumentItem"`
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
