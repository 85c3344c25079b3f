package sapsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

func (h *handler) readBody(w http.ResponseWriter, r *http.Request) (json.RawMessage, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 8<<20))
	if err != nil {
		h.fail(w, http.StatusRequestEntityTooLarge, "/IWBEP/CM_MGW_RT/004", "Request body too large", "")
		return nil, false
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		h.fail(w, http.StatusUnsupportedMediaType, "/IWBEP/CM_MGW_RT/004",
			fmt.Sprintf("Content type '%s' is not supported; send application/json", ct), "")
		return nil, false
	}
	return body, true
}

func (h *handler) writeFailure(w http.ResponseWriter, err error) {
	var be *businessError
	var pe *precondition
	switch {
	case errors.As(err, &be):
		h.fail(w, http.StatusBadRequest, be.code, be.msg, be.target)
	case errors.As(err, &pe):
		h.fail(w, pe.status, "/IWBEP/CM_MGW_RT/007", pe.msg, "")
	case errors.Is(err, errNotFound):
		h.fail(w, http.StatusNotFound, "/IWBEP/CM_MGW_RT/020", "Resource not found", "")
	default:
		h.fail(w, http.StatusInternalServerError, "/IWBEP/CM_MGW_RT/000", err.Error(), "")
	}
}

func (h *handler) create(w http.ResponseWriter, r *http.Request, src *source) {
	if src.et.Name != etASalesOrderType.Name {
		h.fail(w, http.StatusMethodNotAllowed, "/IWBEP/CM_MGW_RT/021",
			fmt.Sprintf("The method 'CREATE_ENTITY' is not implemented for %s", src.et.Set), "")
		return
	}
	body, ok := h.readBody(w, r)
	if !ok {
		return
	}
	in, fe := decodePayload(src.et, body, false, "")
	if fe != nil {
		h.fail(w, http.StatusBadRequest, fe.code, fe.msg, fe.prop)
		return
	}
	if code, msg, ok := h.s.rejectFault(); ok {
		h.fail(w, http.StatusBadRequest, code, msg, "")
		return
	}
	t := txFrom(r.Context())
	if t != nil { // inside a $batch changeset: no create faults, the changeset may still be undone
		so, err := h.s.createSalesOrder(in, t)
		if err != nil {
			h.writeFailure(w, err)
			return
		}
		h.created(w, src.et, so)
		return
	}
	so, waited, err := h.s.createWithFaults(r.Context(), in, h.service)
	if !waited {
		return // the client left before the commit; it happens all the same
	}
	if err != nil {
		h.writeFailure(w, err)
		return
	}
	switch action, status := h.s.answerFault(h.service); action {
	case answerDropped:
		h.s.log.Info("fault: sales order committed, answer dropped", "salesOrder", so["SalesOrder"])
		resetConnection(w)
		return
	case answerGateway:
		h.s.log.Info("fault: sales order committed, gateway error answered", "salesOrder", so["SalesOrder"], "status", status)
		writeGatewayPage(w, status, h.s.opts.Now())
		return
	}
	h.created(w, src.et, so)
}

// created answers a committed create with 201, as SAP does.
func (h *handler) created(w http.ResponseWriter, et *entityType, so record) {
	enc := &encoder{root: h.root}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Location", h.root+"/A_SalesOrder('"+so["SalesOrder"].(string)+"')")
	w.Header().Set("ETag", etagOf(et, so))
	w.WriteHeader(http.StatusCreated)
	// SAP answers a deep insert with what was inserted: the items always, the texts when there were any.
	expand := map[string]bool{"to_Item": true, "to_Text": len(so["to_Text"].([]record)) > 0}
	_, _ = w.Write(append(enc.appendRecord([]byte(`{"d":`), et, so, nil, expand), '}'))
}

func (h *handler) update(w http.ResponseWriter, r *http.Request, src *source, pred string) {
	if src.et.Name != etASalesOrderType.Name && src.et != etABusinessPartnerType {
		h.fail(w, http.StatusMethodNotAllowed, "/IWBEP/CM_MGW_RT/021",
			fmt.Sprintf("The method 'UPDATE_ENTITY' is not implemented for %s", src.et.Set), "")
		return
	}
	keys, err := parseKeys(src.et, pred)
	if err != nil {
		h.fail(w, http.StatusBadRequest, "/IWBEP/CM_MGW_RT/020", err.Error(), "")
		return
	}
	body, ok := h.readBody(w, r)
	if !ok {
		return
	}
	patch, fe := decodePayload(src.et, body, true, "")
	if fe != nil {
		h.fail(w, http.StatusBadRequest, fe.code, fe.msg, fe.prop)
		return
	}
	t := txFrom(r.Context())
	if src.et.Name == etASalesOrderType.Name {
		err = h.s.updateSalesOrder(keys["SalesOrder"], patch, r.Header.Get("If-Match"), t)
	} else {
		err = h.s.updateBusinessPartner(keys["BusinessPartner"], patch, r.Header.Get("If-Match"), t)
	}
	if err != nil {
		h.writeFailure(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// rejectFault consumes one RejectCreateNext and gives the business error to answer.
func (s *Server) rejectFault() (code, msg string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults.RejectCreateNext <= 0 {
		return "", "", false
	}
	s.faults.RejectCreateNext--
	s.stats.FaultsInjected++
	code, msg = s.faults.RejectCode, s.faults.RejectMessage
	if code == "" {
		code = "V1/999"
	}
	if msg == "" {
		msg = "The sales document was refused (injected)"
	}
	return code, msg, true
}
