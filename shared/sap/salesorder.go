package sap

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// SalesOrder is A_SalesOrder as read (with to_Item when expanded).
type SalesOrder struct {
	Metadata                      Metadata                 `json:"__metadata"`
	SalesOrder                    string                   `json:"SalesOrder"`
	SalesOrderType                string                   `json:"SalesOrderType"`
	SalesOrganization             string                   `json:"SalesOrganization"`
	DistributionChannel           string                   `json:"DistributionChannel"`
	OrganizationDivision          string                   `json:"OrganizationDivision"`
	SoldToParty                   string                   `json:"SoldToParty"`
	PurchaseOrderByCustomer       string                   `json:"PurchaseOrderByCustomer"`
	CreationDate                  DateTime                 `json:"CreationDate"`
	LastChangeDate                DateTime                 `json:"LastChangeDate"`
	LastChangeDateTime            DateTimeOffset           `json:"LastChangeDateTime"`
	SalesOrderDate                DateTime                 `json:"SalesOrderDate"`
	RequestedDeliveryDate         DateTime                 `json:"RequestedDeliveryDate"`
	TotalNetAmount                Decimal                  `json:"TotalNetAmount"`
	TransactionCurrency           string                   `json:"TransactionCurrency"`
	CustomerPaymentTerms          string                   `json:"CustomerPaymentTerms"`
	OverallSDProcessStatus        string                   `json:"OverallSDProcessStatus"`
	OverallDeliveryStatus         string                   `json:"OverallDeliveryStatus"`
	OverallTotalDeliveryStatus    string                   `json:"OverallTotalDeliveryStatus"`
	OverallOrdReltdBillgStatus    string                   `json:"OverallOrdReltdBillgStatus"`
	OverallSDDocumentRejectionSts string                   `json:"OverallSDDocumentRejectionSts"`
	TotalCreditCheckStatus        string                   `json:"TotalCreditCheckStatus"`
	TotalBlockStatus              string                   `json:"TotalBlockStatus"`
	DeliveryBlockReason           string                   `json:"DeliveryBlockReason"`
	HeaderBillingBlockReason      string                   `json:"HeaderBillingBlockReason"`
	Items                         Expanded[SalesOrderItem] `json:"to_Item"`
	// Texts are the header texts (to_Text), when expanded.
	Texts Expanded[SalesOrderText] `json:"to_Text"`
	// Subsequent are the documents that follow the order (to_SubsequentProcFlowDoc), when expanded.
	Subsequent Expanded[SalesOrderFlowDoc] `json:"to_SubsequentProcFlowDoc"`
	// Extensions holds every custom string property of the answer (YY1_*, ZZ1_*), e.g. YY1_D365OrderID_SDH.
	Extensions map[string]string `json:"-"`
}

// SalesOrderItem is A_SalesOrderItem as read.
type SalesOrderItem struct {
	SalesOrder                  string  `json:"SalesOrder"`
	SalesOrderItem              string  `json:"SalesOrderItem"`
	SalesOrderItemCategory      string  `json:"SalesOrderItemCategory"`
	SalesOrderItemText          string  `json:"SalesOrderItemText"`
	Material                    string  `json:"Material"`
	MaterialByCustomer          string  `json:"MaterialByCustomer"`
	RequestedQuantity           Decimal `json:"RequestedQuantity"`
	RequestedQuantityUnit       string  `json:"RequestedQuantityUnit"`
	ConfdDelivQtyInOrderQtyUnit Decimal `json:"ConfdDelivQtyInOrderQtyUnit"`
	NetAmount                   Decimal `json:"NetAmount"`
	TransactionCurrency         string  `json:"TransactionCurrency"`
	ProductionPlant             string  `json:"ProductionPlant"`
	StorageLocation             string  `json:"StorageLocation"`
	ShippingPoint               string  `json:"ShippingPoint"`
	SDProcessStatus             string  `json:"SDProcessStatus"`
	DeliveryStatus              string  `json:"DeliveryStatus"`
	OrderRelatedBillingStatus   string  `json:"OrderRelatedBillingStatus"`
}

// SalesOrderCreate is the deep-insert payload of POST A_SalesOrder. SAP assigns SalesOrder.
type SalesOrderCreate struct {
	SalesOrderType          string                 `json:"SalesOrderType"`
	SalesOrganization       string                 `json:"SalesOrganization"`
	DistributionChannel     string                 `json:"DistributionChannel"`
	OrganizationDivision    string                 `json:"OrganizationDivision"`
	SoldToParty             string                 `json:"SoldToParty"`
	PurchaseOrderByCustomer string                 `json:"PurchaseOrderByCustomer,omitempty"`
	SalesOrderDate          DateTime               `json:"SalesOrderDate,omitzero"`
	RequestedDeliveryDate   DateTime               `json:"RequestedDeliveryDate,omitzero"`
	TransactionCurrency     string                 `json:"TransactionCurrency,omitempty"`
	CustomerPaymentTerms    string                 `json:"CustomerPaymentTerms,omitempty"`
	Items                   []SalesOrderItemCreate `json:"to_Item,omitempty"`
	// Texts are header texts created with the order (to_Text); the text IDs allowed are configured per system.
	Texts []SalesOrderTextCreate `json:"to_Text,omitempty"`
	// Extensions are custom header fields (YY1_<Name>_SDH or ZZ1_<Name>_SDH → value), sent as top-level properties
	// of the header. Their lengths are set per system and not checked here.
	Extensions map[string]string `json:"-"`
}

// SalesOrderItemCreate is one item of a deep insert.
type SalesOrderItemCreate struct {
	SalesOrderItem         string  `json:"SalesOrderItem,omitempty"`
	Material               string  `json:"Material"`
	RequestedQuantity      Decimal `json:"RequestedQuantity"`
	RequestedQuantityUnit  string  `json:"RequestedQuantityUnit,omitempty"`
	SalesOrderItemCategory string  `json:"SalesOrderItemCategory,omitempty"`
	ProductionPlant        string  `json:"ProductionPlant,omitempty"`
	StorageLocation        string  `json:"StorageLocation,omitempty"`
	ShippingPoint          string  `json:"ShippingPoint,omitempty"`
	MaterialByCustomer     string  `json:"MaterialByCustomer,omitempty"`
}

// SalesOrderUpdate is a PATCH of A_SalesOrder; nil fields are not sent.
type SalesOrderUpdate struct {
	PurchaseOrderByCustomer  *string `json:"PurchaseOrderByCustomer,omitempty"`
	DeliveryBlockReason      *string `json:"DeliveryBlockReason,omitempty"`
	HeaderBillingBlockReason *string `json:"HeaderBillingBlockReason,omitempty"`
}

var salesOrderNested = map[string]string{"to_Item": "A_SalesOrderItemType", "to_Text": "A_SalesOrderTextType"}

// CreateSalesOrder posts a deep insert (header and items). It is sent exactly once: if the answer is lost, the order
// may exist, so the caller must look it up (FindSalesOrders) before trying again.
func (c *Client) CreateSalesOrder(ctx context.Context, o SalesOrderCreate) (SalesOrder, error) {
	if err := validatePayload("A_SalesOrderType", o, salesOrderNested, extensionProblems(o.Extensions)...); err != nil {
		return SalesOrder{}, fmt.Errorf("creating SAP sales order: %w", err)
	}
	resp, err := c.do(ctx, request{method: http.MethodPost, service: ServiceSalesOrder, path: "A_SalesOrder", body: o})
	if err != nil {
		return SalesOrder{}, fmt.Errorf("creating SAP sales order: %w", err)
	}
	var so SalesOrder
	if err := decodeEntity(resp, &so); err != nil {
		// SAP said 201 but the body broke off: the order exists, its number is unknown.
		return SalesOrder{}, fmt.Errorf("creating SAP sales order: %w: %w", ErrOutcomeUnknown, err)
	}
	if so.SalesOrder == "" {
		return so, errors.New("creating SAP sales order: the answer has no SalesOrder number")
	}
	return so, nil
}

// FindSalesOrders returns the orders of a sold-to party with a customer purchase order number (with items), the
// lookup that makes an order push safe to repeat.
func (c *Client) FindSalesOrders(ctx context.Context, purchaseOrderByCustomer, soldToParty string) ([]SalesOrder, error) {
	q := Query{
		Filter: And(Eq("PurchaseOrderByCustomer", purchaseOrderByCustomer), Eq("SoldToParty", soldToParty)),
		Expand: []string{"to_Item"},
	}
	var out []SalesOrder
	for so, err := range newRows[SalesOrder](ctx, c, ServiceSalesOrder, "A_SalesOrder", q).All() {
		if err != nil {
			return nil, fmt.Errorf("finding SAP sales orders by purchase order %q: %w", purchaseOrderByCustomer, err)
		}
		out = append(out, so)
	}
	return out, nil
}

// SalesOrders streams A_SalesOrder rows matching q.
func (c *Client) SalesOrders(ctx context.Context, q Query) *Rows[SalesOrder] {
	return newRows[SalesOrder](ctx, c, ServiceSalesOrder, "A_SalesOrder", q)
}

// GetSalesOrder reads one order with its items and statuses; errors.Is(err, ErrNotFound) when it does not exist.
func (c *Client) GetSalesOrder(ctx context.Context, salesOrder string) (SalesOrder, error) {
	var so SalesOrder
	resp, err := c.do(ctx, request{method: http.MethodGet, service: ServiceSalesOrder,
		path: "A_SalesOrder" + keyString("", salesOrder), query: "$expand=to_Item"})
	if err == nil {
		err = decodeEntity(resp, &so)
	}
	if err != nil {
		return SalesOrder{}, fmt.Errorf("reading SAP sales order %s: %w", salesOrder, err)
	}
	return so, nil
}

// SalesOrderFlowDoc is A_SalesOrderSubsqntProcFlow: a document that follows an order. SubsequentDocumentCategory
// is SAP's SD document category: J a delivery, M an invoice, N an invoice's cancellation, O a credit memo,
// P a debit memo, S a credit memo's cancellation.
type SalesOrderFlowDoc struct {
	SalesOrder                 string `json:"SalesOrder"`
	SubsequentDocument         string `json:"SubsequentDocument"`
	SubsequentDocumentCategory string `json:"SubsequentDocumentCategory"`
}

// GetSalesOrderFlow reads an order's header with the documents that follow it (deliveries, billing documents),
// the one read a status update needs to find them: the delivery items' ReferenceSDDocument is not filterable.
func (c *Client) GetSalesOrderFlow(ctx context.Context, salesOrder string) (SalesOrder, error) {
	var so SalesOrder
	resp, err := c.do(ctx, request{method: http.MethodGet, service: ServiceSalesOrder,
		path: "A_SalesOrder" + keyString("", salesOrder), query: "$expand=to_SubsequentProcFlowDoc"})
	if err == nil {
		err = decodeEntity(resp, &so)
	}
	if err != nil {
		return SalesOrder{}, fmt.Errorf("reading SAP sales order %s with its document flow: %w", salesOrder, err)
	}
	return so, nil
}

// UpdateSalesOrder patches an order with If-Match: etag (from Metadata.ETag); a stale etag gives
// errors.Is(err, ErrPreconditionFailed).
func (c *Client) UpdateSalesOrder(ctx context.Context, salesOrder, etag string, u SalesOrderUpdate) error {
	if err := validatePayload("A_SalesOrderType", u, nil); err != nil {
		return fmt.Errorf("updating SAP sales order %s: %w", salesOrder, err)
	}
	if err := c.patch(ctx, ServiceSalesOrder, "A_SalesOrder"+keyString("", salesOrder), etag, u); err != nil {
		return fmt.Errorf("updating SAP sales order %s: %w", salesOrder, err)
	}
	return nil
}

// patch sends PATCH with If-Match (etag, or "*" for an unconditional update) and expects 204.
func (c *Client) patch(ctx context.Context, service, path, etag string, body any) error {
	if etag == "" {
		etag = "*"
	}
	resp, err := c.do(ctx, request{method: http.MethodPatch, service: service, path: path, body: body,
		header: http.Header{"If-Match": {etag}}})
	if err != nil {
		return err
	}
	drain(resp)
	return nil
}
