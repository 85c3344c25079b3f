package sap

import (
	"context"
	"fmt"
)

// SalesOrderText is a header text of a sales order (A_SalesOrderText): one per language and text ID. LongText is
// not filterable in SAP, so a text can carry a reference but cannot be searched for it.
type SalesOrderText struct {
	SalesOrder string `json:"SalesOrder"`
	Language   string `json:"Language"`
	LongTextID string `json:"LongTextID"`
	LongText   string `json:"LongText"`
}

// SalesOrderTextCreate is a header text of a deep insert (to_Text).
type SalesOrderTextCreate struct {
	Language   string `json:"Language"`   // e.g. "EN"
	LongTextID string `json:"LongTextID"` // e.g. "0001"; which IDs exist is configured per system
	LongText   string `json:"LongText"`
}

// SalesOrderTexts reads the header texts of an order; errors.Is(err, ErrNotFound) when the order does not exist
// (or is not yet visible to reads).
func (c *Client) SalesOrderTexts(ctx context.Context, salesOrder string) ([]SalesOrderText, error) {
	out := []SalesOrderText{}
	path := "A_SalesOrder" + keyString("", salesOrder) + "/to_Text"
	for t, err := range newRows[SalesOrderText](ctx, c, ServiceSalesOrder, path, Query{}).All() {
		if err != nil {
			return nil, fmt.Errorf("reading texts of SAP sales order %s: %w", salesOrder, err)
		}
		out = append(out, t)
	}
	return out, nil
}
