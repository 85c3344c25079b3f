package statusupdates

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"sort"
	"strings"
	"time"

	"github.com/d365sap/d365sap/shared/dataverse"
	"github.com/d365sap/d365sap/shared/sap"
)

type order = sap.SalesOrder

// closing is what the D365 order's state should become.
type closing int

const (
	stayOpen closing = iota
	fulfil
	cancel
)

func (c closing) String() string {
	return [...]string{"open", "fulfil", "cancel"}[c]
}

// target is what the D365 order should show of one SAP order: the mapped values, and whether it closes.
type target struct {
	Values dataverse.Record
	Close  closing
	// Changed is the order's LastChangeDateTime in SAP.
	Changed time.Time
}

// maxNumbers is the most characters a list of document numbers takes (a D365 text column of 100 holds it).
const maxNumbers = 100

// targetOf computes the D365 side of an SAP order from what was re-read: the header's statuses, the deliveries
// (their numbers, the latest planned and actual goods-issue dates, the newest delivery's transport fields) and the
// billing documents that are not cancelled (their numbers and summed amounts, exact).
func (m Mapping) targetOf(o order, deliveries []sap.OutboundDelivery, bills []sap.BillingDocument) target {
	t := target{Values: dataverse.Record{}, Changed: o.LastChangeDateTime.Time}
	for field, col := range m.Order.Columns {
		if col != "" {
			t.Values[col] = headerFields[field](o)
		}
	}
	set := func(col string, v any) {
		if col != "" {
			t.Values[col] = v
		}
	}
	if m.readsDeliveries() {
		sort.Slice(deliveries, func(i, j int) bool { return lessNumber(deliveries[i].DeliveryDocument, deliveries[j].DeliveryDocument) })
		var numbers []string
		var planned, actual time.Time
		var lading, transport string
		for _, d := range deliveries {
			numbers = append(numbers, sap.NormalizeDocumentNumber(d.DeliveryDocument))
			if d.PlannedGoodsIssueDate.After(planned) {
				planned = d.PlannedGoodsIssueDate.Time
			}
			if d.ActualGoodsMovementDate.After(actual) {
				actual = d.ActualGoodsMovementDate.Time
			}
			if d.BillOfLading != "" {
				lading = d.BillOfLading
			}
			if d.MeansOfTransport != "" {
				transport = d.MeansOfTransport
			}
		}
		set(m.Delivery.Numbers, joinNumbers(numbers))
		set(m.Delivery.PlannedGoodsIssue, dateValue(planned))
		set(m.Delivery.ActualGoodsIssue, dateValue(actual))
		set(m.Delivery.BillOfLading, lading)
		set(m.Delivery.MeansOfTransport, transport)
	}
	if m.readsBilling() {
		sort.Slice(bills, func(i, j int) bool { return lessNumber(bills[i].BillingDocument, bills[j].BillingDocument) })
		var numbers []string
		net, gross := new(big.Rat), new(big.Rat)
		scale := 0
		for _, b := range bills {
			if b.BillingDocumentIsCancelled {
				continue
			}
			numbers = append(numbers, sap.NormalizeDocumentNumber(b.BillingDocument))
			sign := big.NewRat(1, 1)
			if b.SDDocumentCategory == "O" {
				sign = big.NewRat(-1, 1) // a credit memo takes back what it credits
			}
			net.Add(net, new(big.Rat).Mul(sign, b.TotalNetAmount.Rat()))
			gross.Add(gross, new(big.Rat).Mul(sign, b.TotalGrossAmount.Rat()))
			for _, d := range []sap.Decimal{b.TotalNetAmount, b.TotalGrossAmount} {
				if _, f := d.Digits(); f > scale {
					scale = f
				}
			}
		}
		set(m.Billing.Numbers, joinNumbers(numbers))
		if len(numbers) > 0 {
			set(m.Billing.NetAmount, json.Number(sap.DecimalFromRat(net, scale).String()))
			set(m.Billing.GrossAmount, json.Number(sap.DecimalFromRat(gross, scale).String()))
		} else {
			set(m.Billing.NetAmount, nil)
			set(m.Billing.GrossAmount, nil)
		}
	}
	switch {
	case o.OverallSDDocumentRejectionSts == "C":
		// Every item rejected: SAP will deliver nothing.
		t.Close = cancel
	case o.OverallDeliveryStatus == "C" && (!m.Order.CloseWhenBilled || o.OverallOrdReltdBillgStatus == "C"):
		t.Close = fulfil
	}
	return t
}

// fingerprint identifies the values and the closing, whatever the order of the columns.
func (t target) fingerprint() string {
	cols := make([]string, 0, len(t.Values))
	for c := range t.Values {
		cols = append(cols, c)
	}
	sort.Strings(cols)
	h := sha256.New()
	for _, c := range cols {
		b, _ := json.Marshal(t.Values[c])
		h.Write([]byte(c))
		h.Write([]byte{0})
		h.Write(b)
		h.Write([]byte{0})
	}
	h.Write([]byte(t.Close.String()))
	return hex.EncodeToString(h.Sum(nil))[:32]
}

func dateValue(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format("2006-01-02")
}

// joinNumbers lists document numbers, cut to what a text column of maxNumbers holds (the newest are kept, with
// the number left out said in front).
func joinNumbers(numbers []string) any {
	if len(numbers) == 0 {
		return nil
	}
	s := strings.Join(numbers, ", ")
	for len(s) > maxNumbers && len(numbers) > 1 {
		numbers = numbers[1:]
		s = "…, " + strings.Join(numbers, ", ")
	}
	if len(s) > maxNumbers {
		s = s[:maxNumbers]
	}
	return s
}

// lessNumber orders document numbers as numbers when both are digits, else as text.
func lessNumber(a, b string) bool {
	a, b = sap.NormalizeDocumentNumber(a), sap.NormalizeDocumentNumber(b)
	if len(a) != len(b) && isDigits(a) && isDigits(b) {
		return len(a) < len(b)
	}
	return a < b
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
