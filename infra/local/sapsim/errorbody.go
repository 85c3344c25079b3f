package sapsim

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// sapError is the content of SAP Gateway's error body.
type sapError struct {
	code, msg, service, target string
	details                    []sapErrorDetail
}

type sapErrorDetail struct {
	Code        string `json:"code"`
	Message     string `json:"message"`
	PropertyRef string `json:"propertyref"`
	Severity    string `json:"severity"`
	Transition  bool   `json:"transition"`
	Target      string `json:"target"`
}

// writeError answers in SAP Gateway's V2 error shape.
func writeError(w http.ResponseWriter, status int, e sapError) {
	details := e.details
	if details == nil {
		details = []sapErrorDetail{{Code: e.code, Message: e.msg, PropertyRef: e.target, Severity: "error", Target: e.target}}
	}
	body := map[string]any{"error": map[string]any{
		"code":    e.code,
		"message": map[string]string{"lang": "en", "value": e.msg},
		"innererror": map[string]any{
			"application": map[string]string{"component_id": componentOf(e.service), "service_namespace": "/SAP/",
				"service_id": e.service, "service_version": "0001"},
			"transactionid": strings.ToUpper(randomHex(16)),
			"timestamp":     time.Now().UTC().Format("20060102150405.0000000"),
			"Error_Resolution": map[string]string{"SAP_Transaction": "",
				"SAP_Note": "See SAP Note 1797736 for error analysis (https://service.sap.com/sap/support/notes/1797736)"},
			"errordetails": details,
		},
	}}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func randomHex(n int) string {
	b := make([]byte, n/2)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}

func componentOf(service string) string {
	switch service {
	case "API_SALES_ORDER_SRV":
		return "SD-SLS-SO"
	case "API_BUSINESS_PARTNER":
		return "LO-MD-BP"
	case "API_OUTBOUND_DELIVERY_SRV":
		return "LE-SHP-DL"
	case "API_BILLING_DOCUMENT_SRV":
		return "SD-BIL"
	}
	return "LO-MD"
}

var errNotFound = errors.New("not found")
