package statusupdates

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"

	"github.com/d365sap/d365sap/functions/invoices"
)

//go:embed mapping.json
var defaultMapping []byte

// Mapping says which D365 salesorder columns receive SAP's state. An empty column is not written.
type Mapping struct {
	Order struct {
		// Columns maps an A_SalesOrder header field to a column.
		Columns map[string]string `json:"columns"`
		// CloseWhenBilled waits for SAP's billing status to be complete as well before the order is fulfilled.
		CloseWhenBilled bool `json:"closeWhenBilled"`
	} `json:"order"`
	Delivery struct {
		Numbers           string `json:"numbersColumn"`
		PlannedGoodsIssue string `json:"plannedGoodsIssueColumn"`
		ActualGoodsIssue  string `json:"actualGoodsIssueColumn"`
		BillOfLading      string `json:"billOfLadingColumn"`
		MeansOfTransport  string `json:"meansOfTransportColumn"`
	} `json:"delivery"`
	Billing struct {
		Numbers     string `json:"numbersColumn"`
		NetAmount   string `json:"netAmountColumn"`
		GrossAmount string `json:"grossAmountColumn"`
	} `json:"billing"`
	// Invoices says which billing documents become D365 invoices (see package invoices).
	Invoices invoices.Mapping `json:"invoices"`
}

// headerFields are the A_SalesOrder fields a mapping may name, and how each is read.
var headerFields = map[string]func(o order) string{
	"OverallSDProcessStatus":        func(o order) string { return o.OverallSDProcessStatus },
	"OverallDeliveryStatus":         func(o order) string { return o.OverallDeliveryStatus },
	"OverallTotalDeliveryStatus":    func(o order) string { return o.OverallTotalDeliveryStatus },
	"OverallOrdReltdBillgStatus":    func(o order) string { return o.OverallOrdReltdBillgStatus },
	"OverallSDDocumentRejectionSts": func(o order) string { return o.OverallSDDocumentRejectionSts },
	"TotalCreditCheckStatus":        func(o order) string { return o.TotalCreditCheckStatus },
	"TotalBlockStatus":              func(o order) string { return o.TotalBlockStatus },
	"DeliveryBlockReason":           func(o order) string { return o.DeliveryBlockReason },
	"HeaderBillingBlockReason":      func(o order) string { return o.HeaderBillingBlockReason },
}

var column = regexp.MustCompile(`^[a-z][a-z0-9_]{0,49}$`)

// LoadMapping reads the mapping at path, or the shipped one when path is empty.
func LoadMapping(path string) (Mapping, error) {
	b := defaultMapping
	if path != "" {
		var err error
		if b, err = os.ReadFile(path); err != nil {
			return Mapping{}, fmt.Errorf("reading the status mapping: %w", err)
		}
	}
	var m Mapping
	if err := json.Unmarshal(b, &m); err != nil {
		return Mapping{}, fmt.Errorf("parsing the status mapping: %w", err)
	}
	return m, m.check()
}

func (m Mapping) check() error {
	fields := make([]string, 0, len(m.Order.Columns))
	for f := range m.Order.Columns {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	seen := map[string]string{}
	use := func(what, col string) error {
		if col == "" {
			return nil
		}
		if !column.MatchString(col) {
			return fmt.Errorf("status mapping: %s names column %q, which is not a column's logical name", what, col)
		}
		if other, ok := seen[col]; ok {
			return fmt.Errorf("status mapping: column %s receives both %s and %s", col, other, what)
		}
		seen[col] = what
		return nil
	}
	for _, f := range fields {
		if _, ok := headerFields[f]; !ok {
			return fmt.Errorf("status mapping: order.columns names %s, which is not an A_SalesOrder status field the status updates read", f)
		}
		if err := use("order field "+f, m.Order.Columns[f]); err != nil {
			return err
		}
	}
	for what, col := range map[string]string{
		"delivery.numbersColumn": m.Delivery.Numbers, "delivery.plannedGoodsIssueColumn": m.Delivery.PlannedGoodsIssue,
		"delivery.actualGoodsIssueColumn": m.Delivery.ActualGoodsIssue, "delivery.billOfLadingColumn": m.Delivery.BillOfLading,
		"delivery.meansOfTransportColumn": m.Delivery.MeansOfTransport, "billing.numbersColumn": m.Billing.Numbers,
		"billing.netAmountColumn": m.Billing.NetAmount, "billing.grossAmountColumn": m.Billing.GrossAmount,
	} {
		if err := use(what, col); err != nil {
			return err
		}
	}
	return m.Invoices.Check()
}

// readsDeliveries and readsBilling say whether the mapping needs the order's deliveries or billing documents.
func (m Mapping) readsDeliveries() bool {
	d := m.Delivery
	return d.Numbers != "" || d.PlannedGoodsIssue != "" || d.ActualGoodsIssue != "" || d.BillOfLading != "" || d.MeansOfTransport != ""
}

func (m Mapping) readsBilling() bool {
	b := m.Billing
	return b.Numbers != "" || b.NetAmount != "" || b.GrossAmount != ""
}

// Columns lists every column the mapping writes, for the org's set-up and the simulators.
func (m Mapping) Columns() []string {
	var out []string
	for _, c := range m.Order.Columns {
		out = append(out, c)
	}
	for _, c := range []string{m.Delivery.Numbers, m.Delivery.PlannedGoodsIssue, m.Delivery.ActualGoodsIssue,
		m.Delivery.BillOfLading, m.Delivery.MeansOfTransport, m.Billing.Numbers, m.Billing.NetAmount, m.Billing.GrossAmount} {
		if c != "" {
			out = append(out, c)
		}
	}
	sort.Strings(out)
	return out
}

// Column kinds the mapping writes, for the org's set-up: the columns a D365 salesorder must have.
const (
	KindText    = "text"
	KindDate    = "date"
	KindDecimal = "decimal"
)

// ColumnKinds says, for every column the mapping writes, what kind of column it must be: the header statuses,
// the document numbers and the transport fields are text (100 characters hold them), the goods-issue dates are
// dates, the billed amounts decimals.
func (m Mapping) ColumnKinds() map[string]string {
	out := map[string]string{}
	for _, c := range m.Columns() {
		out[c] = KindText
	}
	for _, c := range []string{m.Delivery.PlannedGoodsIssue, m.Delivery.ActualGoodsIssue} {
		if c != "" {
			out[c] = KindDate
		}
	}
	for _, c := range []string{m.Billing.NetAmount, m.Billing.GrossAmount} {
		if c != "" {
			out[c] = KindDecimal
		}
	}
	return out
}
