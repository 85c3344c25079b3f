package invoices

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/d365sap/d365sap/shared/sap"
)

// Action is what a billing document becomes in D365.
type Action string

const (
	// MakeInvoice: one D365 invoice with the document's lines (invoices, debit memos).
	MakeInvoice Action = "invoice"
	// MakeNegativeInvoice: one D365 invoice whose prices, discounts and tax are the document's with the sign
	// turned (credit memos, when the mapping wants them in D365).
	MakeNegativeInvoice Action = "negativeInvoice"
	// Cancel: the document is a cancellation; the invoice of the document it names is canceled.
	Cancel Action = "cancellation"
	// Skip: nothing is written; the skip is audited.
	Skip Action = "skip"
)

// Mapping says which billing documents become what, and which invoice columns hold SAP's keys and stamps. The
// org adds the key column to invoice with an alternate key on it (see the README, "Invoices").
type Mapping struct {
	// Enabled turns invoices on; off, billing events only update the order's columns.
	Enabled bool `json:"enabled"`
	// KeyColumn holds the billing document number; an alternate key must be defined on it alone.
	KeyColumn string `json:"keyColumn"`
	// ChangedColumn holds SAP's LastChangeDateTime of what the invoice shows (a text column: RFC 3339 to SAP's
	// 100 ns, which a date-and-time column, keeping seconds, would lose); a state
	// read from SAP that is older is never written.
	ChangedColumn string `json:"changedColumn"`
	// BillingDateColumn and ClearingStatusColumn receive BillingDocumentDate and InvoiceClearingStatus
	// (empty: not written).
	BillingDateColumn    string `json:"billingDateColumn"`
	ClearingStatusColumn string `json:"clearingStatusColumn"`
	// Types maps a billing document type (BillingDocumentType) to an action; it wins over Categories, which maps
	// SAP's SD document category (M invoice, N its cancellation, O credit memo, P debit memo, S a credit memo's
	// cancellation). A document neither names is skipped and audited.
	Types      map[string]Action `json:"types"`
	Categories map[string]Action `json:"categories"`
	// PriceConditions are the condition types whose rate is an item's price per unit, in order; the difference
	// to the item's net value is its discount. An item without one is priced at its net value per unit.
	PriceConditions []string `json:"priceConditions"`
	// PaidWhenCleared marks an invoice paid once SAP's clearing status is C (fully cleared).
	PaidWhenCleared bool `json:"paidWhenCleared"`
}

var columnName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,49}$`)

// Check reports a mapping that cannot work.
func (m Mapping) Check() error {
	if !m.Enabled {
		return nil
	}
	var problems []string
	for what, col := range map[string]string{"keyColumn": m.KeyColumn, "changedColumn": m.ChangedColumn} {
		if !columnName.MatchString(col) {
			problems = append(problems, fmt.Sprintf("%s %q is not a column's logical name (and is required)", what, col))
		}
	}
	for what, col := range map[string]string{"billingDateColumn": m.BillingDateColumn, "clearingStatusColumn": m.ClearingStatusColumn} {
		if col != "" && !columnName.MatchString(col) {
			problems = append(problems, fmt.Sprintf("%s %q is not a column's logical name", what, col))
		}
	}
	for name, acts := range map[string]map[string]Action{"types": m.Types, "categories": m.Categories} {
		for k, a := range acts {
			switch a {
			case MakeInvoice, MakeNegativeInvoice, Cancel, Skip:
			default:
				problems = append(problems, fmt.Sprintf("%s[%q] is %q; want invoice, negativeInvoice, cancellation or skip", name, k, a))
			}
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return fmt.Errorf("invoice mapping: %s", strings.Join(problems, "; "))
	}
	return nil
}

// actionOf decides what a billing document becomes; mapped says whether the mapping named it at all.
func (m Mapping) actionOf(b sap.BillingDocument) (a Action, mapped bool) {
	if a, ok := m.Types[b.BillingDocumentType]; ok {
		return a, true
	}
	if a, ok := m.Categories[b.SDDocumentCategory]; ok {
		return a, true
	}
	return Skip, false
}

// ColumnKinds says, for every invoice column the mapping writes, what kind of column the org must add: the key
// and the clearing status are text (the key holds SAP's 10-character number and carries the alternate key), as is
// SAP's change stamp (to 100 ns); the billing date is a date and time.
func (m Mapping) ColumnKinds() map[string]string {
	out := map[string]string{}
	if !m.Enabled {
		return out
	}
	out[m.KeyColumn], out[m.ChangedColumn] = "text", "text"
	if m.BillingDateColumn != "" {
		out[m.BillingDateColumn] = "datetime"
	}
	if m.ClearingStatusColumn != "" {
		out[m.ClearingStatusColumn] = "text"
	}
	return out
}
