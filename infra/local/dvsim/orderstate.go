package dvsim

import (
	"encoding/json"
	"fmt"
)

// Sales order states (statecode) as the salesorder table defines them.
const (
	orderActive    = 0
	orderSubmitted = 1
	orderCanceled  = 2
	orderFulfilled = 3
	orderInvoiced  = 4
)

// salesOrderUpdate keeps an update from closing an order: closing takes CancelSalesOrder or FulfillSalesOrder,
// which the platform says by name (checkEditable refuses any edit of an order already closed). The messages are
// the platform's as practitioners report them; the error codes it answers with are UNVERIFIED, so none is given.
func salesOrderUpdate(_ *row, values map[string]any) *apiError {
	v, ok := values["statecode"]
	if !ok {
		return nil
	}
	switch to, _ := intValue(v); to {
	case orderActive, orderSubmitted:
		return nil
	case orderCanceled:
		return errf(400, "", "This message can not be used to set the state of SalesOrder to Canceled. In order to set state of SalesOrder to Canceled, use the CancelSalesOrderRequest message instead.")
	case orderFulfilled:
		return errf(400, "", "This message can not be used to set the state of SalesOrder to Fulfilled. In order to set state of SalesOrder to Fulfilled, use the FulfillSalesOrderRequest message instead.")
	default:
		return errf(400, codeInvalidStateStatus, "State code is invalid or state code is valid but status code is invalid for a specified state code.")
	}
}

// closeOrder serves FulfillSalesOrder (bound to the salesorders collection) and CancelSalesOrder (unbound): the
// order named in OrderClose moves to Fulfilled or Canceled with the status reason given, which must be one of that
// state's. A closed order cannot be closed again.
func (s *Server) closeOrder(x *tx, name string, req *apiRequest) *response {
	var state int
	var allowed []int
	switch name {
	case "FulfillSalesOrder":
		state, allowed = orderFulfilled, []int{100001, 100002}
	case "CancelSalesOrder":
		state, allowed = orderCanceled, []int{4}
	}
	body, err := decodeBody(req.body)
	if err != nil {
		return errorResponse(err)
	}
	status, ok := intValue(body["Status"])
	known := false
	for _, a := range allowed {
		known = known || ok && status == a
	}
	if !known {
		return errorResponse(errf(400, codeInvalidArgument, "%s does not accept Status %v (allowed: %v).", name, body["Status"], allowed))
	}
	oc, _ := body["OrderClose"].(map[string]any)
	ref, _ := oc["salesorderid@odata.bind"].(string)
	id, err := s.resolveBind("salesorders", ref, nil)
	if err != nil {
		return errorResponse(err)
	}
	td := s.store.tables["salesorders"]
	if st, _ := intValue(td.rows[id].values["statecode"]); st != orderActive && st != orderSubmitted {
		return errorResponse(errf(400, "", "The sales order is not active and cannot be closed (statecode %d).", st))
	}
	if _, err := s.store.write(x, td, id, map[string]any{"statecode": json.Number(fmt.Sprint(state)), "statuscode": json.Number(fmt.Sprint(status))}, false); err != nil {
		return errorResponse(err)
	}
	resp := newResponse(204)
	resp.ops = 1
	return resp
}
