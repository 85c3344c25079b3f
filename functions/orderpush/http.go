package orderpush

import (
	"context"
	_ "embed"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/trigger"
)

//go:embed function.json
var functionJSON []byte

// Pusher is what the HTTP function needs.
type Pusher interface {
	Push(ctx context.Context, req Request, async bool) (Result, error)
}

// Handler serves POST /api/orders.
type Handler struct {
	Pusher Pusher
	// StatusBase is the absolute URL of the status resource without the order id, from settings (the platform's
	// host name), never from the request: e.g. https://app.azurewebsites.net/api/orders/. Relative when empty.
	StatusBase string
	MaxBody    int64
}

// Function declares the order push function.
func Function(h *Handler) (trigger.Function, error) {
	d, err := trigger.ParseDefinition(functionJSON)
	if err != nil {
		return trigger.Function{}, err
	}
	return trigger.Function{Name: "orderpush", Definition: d, HTTP: h, Accepts: Accepts}, nil
}

// Accepts are the media types the push reads its body as; the runtime adapters refuse others with 415.
var Accepts = []string{"application/json"}

// Answer is the body of 200, 201 and 202.
type Answer struct {
	SalesOrderID     string `json:"salesorderid"`
	SAPSalesOrder    string `json:"sapSalesOrder,omitempty"`
	State            State  `json:"state"`
	StatusURL        string `json:"statusUrl"`
	WriteBackPending bool   `json:"writeBackPending,omitempty"`
}

// StatusURL is where the push of an order can be followed.
func StatusURL(base, id string) string {
	if base == "" {
		base = "/api/orders/"
	}
	return base + id
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	instance := ""
	if inv, ok := trigger.InvocationFrom(r.Context()); ok {
		instance = inv.ID
	}
	limit := h.MaxBody
	if limit == 0 {
		limit = 4 << 20
	}
	// The adapters check the media type before the function runs; checked again here so the handler holds to its
	// contract on any runtime (and in its own tests).
	if err := trigger.CheckBody(Accepts, r.Header); err != nil {
		problem.Write(w, err, instance)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		problem.Write(w, problem.Wrap(problem.Invalid, err, "reading the request body"), instance)
		return
	}
	if int64(len(body)) > limit {
		problem.Write(w, problem.New(problem.TooLarge, "the request body is over the limit of %s bytes", strconv.FormatInt(limit, 10)), instance)
		return
	}
	req, err := ParseRequest(body)
	if err != nil {
		problem.Write(w, err, instance)
		return
	}
	async := preferAsync(r.Header.Values("Prefer"))
	res, err := h.Pusher.Push(r.Context(), req, async)
	status := StatusURL(h.StatusBase, req.SalesOrderID)
	if err != nil {
		if k := problem.KindOf(err); k == problem.Conflict || k == problem.Unavailable || k == problem.Timeout {
			w.Header().Set("Location", status)
		}
		problem.Write(w, err, instance)
		return
	}
	ans := Answer{SalesOrderID: res.SalesOrderID, SAPSalesOrder: res.SAPSalesOrder, State: res.State, StatusURL: status, WriteBackPending: res.WriteBackPending}
	code := http.StatusOK
	switch {
	case res.Accepted:
		code = http.StatusAccepted
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(res.RetryAfter.Round(time.Second)/time.Second))))
		w.Header().Set("Location", status)
	case res.Created:
		code = http.StatusCreated
		w.Header().Set("Location", status)
	}
	writeJSON(w, code, ans)
}

func preferAsync(values []string) bool {
	for _, v := range values {
		for _, p := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(strings.SplitN(p, ";", 2)[0]), "respond-async") {
				return true
			}
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
