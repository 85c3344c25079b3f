package sap

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// BusinessPartner is A_BusinessPartner with to_Customer (and its sales areas) when expanded.
type BusinessPartner struct {
	Metadata                 Metadata  `json:"__metadata"`
	BusinessPartner          string    `json:"BusinessPartner"`
	Customer                 string    `json:"Customer"`
	BusinessPartnerCategory  string    `json:"BusinessPartnerCategory"`
	BusinessPartnerFullName  string    `json:"BusinessPartnerFullName"`
	OrganizationBPName1      string    `json:"OrganizationBPName1"`
	BusinessPartnerIsBlocked bool      `json:"BusinessPartnerIsBlocked"`
	LastChangeDate           DateTime  `json:"LastChangeDate"`
	LastChangeTime           TimeOfDay `json:"LastChangeTime"`
	CustomerData             *Customer `json:"to_Customer,omitempty"`
}

// LastChanged combines SAP's separate change date and time (UTC).
func (b BusinessPartner) LastChanged() time.Time {
	if b.LastChangeDate.IsZero() {
		return time.Time{}
	}
	return b.LastChangeDate.UTC().Truncate(24 * time.Hour).Add(b.LastChangeTime.Duration)
}

// Customer is A_Customer with to_CustomerSalesArea when expanded.
type Customer struct {
	Metadata                  Metadata                    `json:"__metadata"`
	Customer                  string                      `json:"Customer"`
	CustomerName              string                      `json:"CustomerName"`
	OrderIsBlockedForCustomer string                      `json:"OrderIsBlockedForCustomer"`
	DeletionIndicator         bool                        `json:"DeletionIndicator"`
	SalesAreas                Expanded[CustomerSalesArea] `json:"to_CustomerSalesArea"`
}

// CustomerSalesArea is A_CustomerSalesArea.
type CustomerSalesArea struct {
	Customer                string `json:"Customer"`
	SalesOrganization       string `json:"SalesOrganization"`
	DistributionChannel     string `json:"DistributionChannel"`
	Division                string `json:"Division"`
	CustomerPaymentTerms    string `json:"CustomerPaymentTerms"`
	Currency                string `json:"Currency"`
	IncotermsClassification string `json:"IncotermsClassification"`
	ShippingCondition       string `json:"ShippingCondition"`
	CustomerPriceGroup      string `json:"CustomerPriceGroup"`
}

// BusinessPartnerUpdate is a PATCH of A_BusinessPartner; nil fields are not sent.
type BusinessPartnerUpdate struct {
	OrganizationBPName1      *string `json:"OrganizationBPName1,omitempty"`
	SearchTerm1              *string `json:"SearchTerm1,omitempty"`
	BusinessPartnerIsBlocked *bool   `json:"BusinessPartnerIsBlocked,omitempty"`
}

var bpExpand = []string{"to_Customer", "to_Customer/to_CustomerSalesArea"}

// GetBusinessPartner reads a business partner with its customer role and sales areas.
func (c *Client) GetBusinessPartner(ctx context.Context, bp string) (BusinessPartner, error) {
	var out BusinessPartner
	resp, err := c.do(ctx, request{method: http.MethodGet, service: ServiceBP,
		path: "A_BusinessPartner" + keyString("", bp), query: "$expand=" + escapeQuery(bpExpand[0]+","+bpExpand[1])})
	if err == nil {
		err = decodeEntity(resp, &out)
	}
	if err != nil {
		return BusinessPartner{}, fmt.Errorf("reading SAP business partner %s: %w", bp, err)
	}
	return out, nil
}

// GetCustomer reads A_Customer with its sales areas.
func (c *Client) GetCustomer(ctx context.Context, customer string) (Customer, error) {
	var out Customer
	resp, err := c.do(ctx, request{method: http.MethodGet, service: ServiceBP,
		path: "A_Customer" + keyString("", customer), query: "$expand=to_CustomerSalesArea"})
	if err == nil {
		err = decodeEntity(resp, &out)
	}
	if err != nil {
		return Customer{}, fmt.Errorf("reading SAP customer %s: %w", customer, err)
	}
	return out, nil
}

// BusinessPartnersChangedSince streams partners changed after since. SAP keeps the change date and time in two
// fields and only the date filters well, so the server is asked for the day and the client drops earlier times.
func (c *Client) BusinessPartnersChangedSince(ctx context.Context, since time.Time, pageSize int) *Rows[BusinessPartner] {
	day := DateTime{since.UTC().Truncate(24 * time.Hour)}
	r := newRows[BusinessPartner](ctx, c, ServiceBP, "A_BusinessPartner",
		Query{Filter: Ge("LastChangeDate", day), Expand: bpExpand, PageSize: pageSize})
	r.keep = func(b BusinessPartner) bool { return b.LastChanged().After(since) }
	return r
}

// UpdateBusinessPartner patches a partner with If-Match: etag (Metadata.ETag of a read; "" sends "*").
func (c *Client) UpdateBusinessPartner(ctx context.Context, bp, etag string, u BusinessPartnerUpdate) error {
	if err := validatePayload("A_BusinessPartnerType", u, nil); err != nil {
		return fmt.Errorf("updating SAP business partner %s: %w", bp, err)
	}
	if err := c.patch(ctx, ServiceBP, "A_BusinessPartner"+keyString("", bp), etag, u); err != nil {
		return fmt.Errorf("updating SAP business partner %s: %w", bp, err)
	}
	return nil
}
