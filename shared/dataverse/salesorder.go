package dataverse

import (
	"encoding/json"
	"fmt"
	"time"
)

// Columns of salesorders the order push reads, and the navigation properties it expands.
var (
	SalesOrderColumns       = []string{"name", "ordernumber", "statecode", "statuscode", "requestdeliveryby", "paymenttermscode", "totalamount", "_customerid_value", "_pricelevelid_value"}
	SalesOrderDetailColumns = []string{"quantity", "priceperunit", "ispriceoverridden", "isproductoverridden", "productdescription", "lineitemnumber", "_productid_value", "_uomid_value"}
)

// SalesOrderExpand reads an order with its lines, each line's product number and the customer's account
// number, in one request.
func SalesOrderExpand() []string {
	return []string{
		"order_details($select=" + join(SalesOrderDetailColumns) + ";$expand=productid($select=productnumber))",
		"customerid_account($select=accountnumber,name)",
	}
}

func join(cols []string) string {
	out := ""
	for i, c := range cols {
		if i > 0 {
			out += ","
		}
		out += c
	}
	return out
}

// OrderWriteBack is what the integration writes back onto a salesorder after pushing it to SAP. Zero
// fields are left out. SAPNumberColumn is the org's custom column (e.g. "sap_salesorder"); it is settings,
// not a fixed name.
type OrderWriteBack struct {
	SubmitStatus            *int
	SubmitStatusDescription string
	SubmitDate              time.Time
	LastBackOfficeSubmit    time.Time
	SAPNumberColumn         string
	SAPNumber               string
}

// Record is the PATCH body.
func (w OrderWriteBack) Record() (Record, error) {
	r := Record{}
	if w.SubmitStatus != nil {
		r["submitstatus"] = json.Number(fmt.Sprint(*w.SubmitStatus))
	}
	if w.SubmitStatusDescription != "" {
		r["submitstatusdescription"] = w.SubmitStatusDescription
	}
	if !w.SubmitDate.IsZero() {
		r["submitdate"] = w.SubmitDate.UTC().Format(time.RFC3339)
	}
	if !w.LastBackOfficeSubmit.IsZero() {
		r["lastbackofficesubmit"] = w.LastBackOfficeSubmit.UTC().Format(time.RFC3339)
	}
	if w.SAPNumber != "" {
		if w.SAPNumberColumn == "" {
			return nil, fmt.Errorf("writing back the SAP number: no column configured")
		}
		r[w.SAPNumberColumn] = w.SAPNumber
	}
	return r, nil
}
