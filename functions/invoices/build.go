package invoices

import (
	"context"
	"fmt"
	"math/big"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/d365sap/d365sap/shared/dataverse"
	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/sap"
)

// wantedState is the state SAP's document asks for: canceled once SAP cancelled it, paid once it is cleared (when
// the mapping says so), active otherwise.
func (s *Service) wantedState(b sap.BillingDocument) state {
	switch {
	case b.BillingDocumentIsCancelled:
		return canceled
	case s.Mapping.PaidWhenCleared && b.InvoiceClearingStatus == "C":
		return paid
	}
	return active
}

// build makes the invoice D365 should show for a billing document. ok is false when there is nothing to write
// (the document's order was not pushed from D365, or its D365 order is gone); the reason is audited.
func (s *Service) build(ctx context.Context, b sap.BillingDocument, a Action) (invoice, bool, error) {
	number := b.BillingDocument
	items := slices.Clone(b.Items.Results)
	sort.SliceStable(items, func(i, j int) bool { return itemNumber(items[i]) < itemNumber(items[j]) })
	if len(items) == 0 {
		return invoice{}, false, problem.New(problem.Invalid, "SAP billing document %s has no items", number)
	}
	if len(items)+2 > dataverse.MaxBatchOperations {
		// Header, lines and state go in one changeset, which holds at most 1,000 operations: a document this long
		// cannot be written atomically, and would fail the same way on every try.
		return invoice{}, false, problem.New(problem.Invalid, "SAP billing document %s has %d items; one invoice changeset holds at most %d lines",
			number, len(items), dataverse.MaxBatchOperations-2)
	}
	// The invoice is bound to the first of the document's orders that D365 pushed (a collective billing document
	// may bill several orders, some entered in SAP alone).
	var (
		order, first string
		link         ledger.Link
		found        bool
		err          error
	)
	for _, it := range items {
		o := sap.NormalizeDocumentNumber(it.SalesDocument)
		if o == "" || o == order {
			continue
		}
		if first == "" {
			first = o
		}
		order = o
		if link, found, err = s.Links.FindLink(ctx, o); err != nil {
			return invoice{}, false, err
		}
		if found {
			break
		}
	}
	if !found {
		order = first
	}
	if !found {
		s.Stats.NotLinked.Add(1)
		s.audit(ctx, number, "not-linked", fmt.Sprintf("SAP billing document %s bills SAP order %q, which was not pushed from Dynamics 365; no invoice", number, order))
		return invoice{}, false, nil
	}
	so, found, err := s.order(ctx, link.Key)
	if err != nil {
		return invoice{}, false, err
	}
	if !found {
		s.audit(ctx, number, "gone", "the D365 order "+link.Key+" no longer exists; no invoice for SAP billing document "+number)
		return invoice{}, false, nil
	}
	places, err := s.pricingPrecision(ctx)
	if err != nil {
		return invoice{}, false, err
	}
	var materials []string
	for _, it := range items {
		if it.Material != "" && !slices.Contains(materials, it.Material) {
			materials = append(materials, it.Material)
		}
	}
	products, err := s.products(ctx, materials)
	if err != nil {
		return invoice{}, false, err
	}
	sign := big.NewRat(1, 1)
	if a == MakeNegativeInvoice {
		sign = big.NewRat(-1, 1)
	}
	want := invoice{Columns: s.columns(b), Binds: map[string]string{"salesorderid": strings.ToLower(link.Key)}, State: s.wantedState(b),
		Changed: b.LastChangeDateTime.Time}
	for nav, l := range lookups {
		if v := so.String(l.column); v != "" && nav != "salesorderid" {
			want.Binds[nav] = strings.ToLower(v)
		}
	}
	if want.Binds["pricelevelid"] == "" || want.Binds["transactioncurrencyid"] == "" || want.Binds["customerid_account"] == "" {
		return invoice{}, false, problem.New(problem.Invalid, "D365 order %s has no customer account, price list or currency to invoice SAP billing document %s with", link.Key, number)
	}
	net, tax := new(big.Rat), new(big.Rat)
	for _, it := range items {
		l, err := s.lineOf(it, sign, places, products)
		if err != nil {
			return invoice{}, false, problem.Wrap(problem.Invalid, err, "SAP billing document %s", number)
		}
		net.Add(net, new(big.Rat).Mul(sign, it.NetAmount.Rat()))
		tax.Add(tax, l.Tax)
		want.Lines = append(want.Lines, l)
	}
	// The invoice's totals are D365's sums of the lines, so the lines must add up to SAP's header.
	if hn, ht := new(big.Rat).Mul(sign, b.TotalNetAmount.Rat()), new(big.Rat).Mul(sign, b.TaxAmount.Rat()); net.Cmp(hn) != 0 || tax.Cmp(ht) != 0 {
		return invoice{}, false, problem.New(problem.Invalid, "SAP billing document %s: its items add up to net %s and tax %s, its header says %s and %s",
			number, net.FloatString(2), tax.FloatString(2), hn.FloatString(2), ht.FloatString(2))
	}
	return want, true, nil
}

// columns are the invoice's plain columns from the document.
func (s *Service) columns(b sap.BillingDocument) map[string]any {
	m := s.Mapping
	c := map[string]any{"name": cut(fmt.Sprintf("SAP %s %s", b.BillingDocumentType, b.BillingDocument), 300)}
	if m.BillingDateColumn != "" && !b.BillingDocumentDate.IsZero() {
		// No date is no column ("" is no date-and-time value Dataverse takes).
		c[m.BillingDateColumn] = b.BillingDocumentDate.UTC().Format("2006-01-02T15:04:05Z")
	}
	if m.ClearingStatusColumn != "" {
		c[m.ClearingStatusColumn] = b.InvoiceClearingStatus
	}
	return c
}

// lineOf makes the D365 line of an SAP item: its product in the unit the value maps give, or a write-in when D365
// has no such product or the product's unit group no such unit.
func (s *Service) lineOf(it sap.BillingDocumentItem, sign *big.Rat, places int, products map[string]product) (line, error) {
	qty := it.BillingQuantity.Rat()
	if qty.Sign() <= 0 {
		return line{}, fmt.Errorf("item %s has quantity %s; an invoice line needs a positive one", it.BillingDocumentItem, it.BillingQuantity)
	}
	net := new(big.Rat).Mul(sign, it.NetAmount.Rat())
	if !fits(net, moneyPlaces) || !fits(it.TaxAmount.Rat(), moneyPlaces) {
		return line{}, fmt.Errorf("item %s: net %s or tax %s has more than %d decimals", it.BillingDocumentItem, it.NetAmount, it.TaxAmount, moneyPlaces)
	}
	p := priceItem(it, net, qty, s.Mapping.PriceConditions, places)
	l := line{Item: itemNumber(it), Quantity: qty, PerUnit: p.PerUnit, Discount: p.Discount, Tax: new(big.Rat).Mul(sign, it.TaxAmount.Rat())}
	if l.Item <= 0 {
		return line{}, fmt.Errorf("item number %q is not a positive number", it.BillingDocumentItem)
	}
	pr, ok := products[it.Material]
	unit := ""
	if ok && s.Units != nil {
		if name, known := s.Units.D365(it.BillingQuantityUnit); known {
			unit = pr.units[name]
		}
	}
	if ok && unit != "" {
		l.Product, l.Unit = pr.id, unit
		return l, nil
	}
	text := strings.TrimSpace(it.Material + " " + it.BillingDocumentItemText)
	if ok {
		text += " (" + it.BillingQuantityUnit + ")" // the product exists, in no unit of its group that matches
	}
	l.Description = cut(text, 500)
	return l, nil
}

func itemNumber(it sap.BillingDocumentItem) int {
	n, err := strconv.Atoi(strings.TrimLeft(it.BillingDocumentItem, "0"))
	if err != nil {
		return -1
	}
	return n
}

func cut(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}
