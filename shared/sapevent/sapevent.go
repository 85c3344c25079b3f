// Package sapevent knows SAP S/4HANA's business event types: which of them the status path consumes, and which
// document each one names. Events are thin: a Ref says only which document to read again, never what changed.
package sapevent

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/d365sap/d365sap/shared/cloudevent"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/sap"
)

// Object is a business object whose events the status path consumes.
type Object string

// The consumed objects, named as in their event types.
const (
	SalesOrder       Object = "salesorder"
	OutboundDelivery Object = "outbounddelivery"
	BillingDocument  Object = "billingdocument"
)

// family is one object's event package: the type prefix, the data field holding the document number, and the
// operations consumed. Item events are left out for the sales order: every item status SAP rolls up raises a
// header status event as well, and the re-read is of the whole order anyway.
type family struct {
	object     Object
	prefix     string
	key        string
	operations map[string]bool
}

func ops(names ...string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m
}

// families are the types the status path consumes, from SAP's event specifications (the kit's sap-events.md).
// The billing document's types beyond Created are not in a published spec; Changed and Cancelled are consumed in
// case a system raises them, since a re-read costs one GET and a version that did not move costs no write.
var families = []family{
	{SalesOrder, "sap.s4.beh.salesorder.v1.SalesOrder.", "SalesOrder", ops("Created", "Changed", "Deleted",
		"OvrlSDProcStsChgd", "OvrlDelivStsChgd", "OvrlBlgBlkStsChgd", "OvrlDlvBlkStsChgd", "OvrlRjcnStsChgd",
		"OvrlDlvConfStsChgd", "TotCrdtChkStsChgd", "ApprovalStsChanged")},
	{OutboundDelivery, "sap.s4.beh.outbounddelivery.v1.OutboundDelivery.", "OutboundDelivery", ops("Created", "Changed",
		"Deleted", "DelivBlockChanged", "PkngStatusChanged", "PackgStatusChanged", "GIStatusChanged")},
	{BillingDocument, "sap.s4.beh.billingdocument.v1.BillingDocument.", "BillingDocument", ops("Created", "Changed", "Cancelled")},
}

// Ref is the document an event names.
type Ref struct {
	Object Object
	// Number is the document number, leading zeros stripped as OData writes it.
	Number string
	// Operation is the event's operation (Created, Changed, Deleted, OvrlDelivStsChgd, ...).
	Operation string
	// Raised is EventRaisedDateTime when the event has it, else the envelope's time; zero when neither.
	Raised time.Time
}

// Consumed says whether the status path consumes events of type t, and of which object.
func Consumed(t string) (Object, string, bool) {
	for _, f := range families {
		rest, ok := strings.CutPrefix(t, f.prefix)
		if !ok {
			continue
		}
		op, ok := strings.CutSuffix(rest, ".v1")
		if ok && f.operations[op] {
			return f.object, op, true
		}
	}
	return "", "", false
}

// number is what a document number may be: SAP's are up to 10 characters, digits or letters.
var number = regexp.MustCompile(`^[0-9A-Za-z]{1,10}$`)

// RefOf reads which document a consumed event names. An event of a type not consumed, or whose data lacks a
// usable number, is Invalid: nothing can make it readable.
func RefOf(e cloudevent.Event) (Ref, error) {
	obj, op, ok := Consumed(e.Type)
	if !ok {
		return Ref{}, problem.New(problem.Invalid, "event type %s is not one the status path consumes", cut(e.Type))
	}
	var key string
	for _, f := range families {
		if f.object == obj {
			key = f.key
		}
	}
	var data map[string]json.RawMessage
	if err := json.Unmarshal(e.Data, &data); err != nil {
		return Ref{}, problem.Wrap(problem.Invalid, err, "reading the data of event %s", cut(e.ID))
	}
	var n string
	if raw, ok := data[key]; !ok || json.Unmarshal(raw, &n) != nil {
		return Ref{}, problem.New(problem.Invalid, "event %s (%s) has no %s string in its data", cut(e.ID), cut(e.Type), key)
	}
	n = strings.TrimSpace(n)
	if !number.MatchString(n) {
		return Ref{}, problem.New(problem.Invalid, "event %s names %s %q, which is no SAP document number", cut(e.ID), key, cut(n))
	}
	ref := Ref{Object: obj, Number: sap.NormalizeDocumentNumber(n), Operation: op, Raised: e.Time}
	var raised string
	if raw, ok := data["EventRaisedDateTime"]; ok && json.Unmarshal(raw, &raised) == nil {
		if t, err := time.Parse(time.RFC3339Nano, raised); err == nil {
			ref.Raised = t
		}
	}
	return ref, nil
}

// String names the document for logs and audit rows.
func (r Ref) String() string { return fmt.Sprintf("%s %s", r.Object, r.Number) }

func cut(s string) string {
	if r := []rune(s); len(r) > 80 {
		return string(r[:80]) + "…"
	}
	return s
}
