package orderpush_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"github.com/d365sap/d365sap/infra/local/sapsim"
)

// The real handler under the host stand-in, against Azurite: a valid inline order of 999 lines whose product
// numbers compress poorly. Its compressed payload is over 32,768 characters (one Table property) and under
// payload.go's 60,000-character threshold for the archive, so the claim itself is refused by storage and the push
// answers 503 — "storage unavailable, nothing could be recorded" — on every try.
func TestALargeInlineOrderIsRecordedByTheApp(t *testing.T) {
	w := newWorld(t)
	id := w.order(t, sapsim.CustomerID(1), line{sapsim.ProductID(0), "1"})
	rng := rand.New(rand.NewPCG(7, 7))
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	var lines []string
	for i := range 999 {
		var b strings.Builder
		for range 40 {
			b.WriteByte(alphabet[rng.IntN(len(alphabet))])
		}
		lines = append(lines, fmt.Sprintf(`{"productNumber":%q,"quantity":"%d","lineItemNumber":%d}`, b.String(), 1+i%7, i+1))
	}
	body := fmt.Sprintf(`{"order":{"salesorderid":%q,"customerAccountNumber":%q,"purchaseOrderNumber":"PO-999-LINES","lines":[%s]}}`,
		id, sapsim.CustomerID(1), strings.Join(lines, ","))
	for i := range 2 {
		a := w.push(t, body, nil)
		if a.Status == http.StatusServiceUnavailable {
			t.Fatalf("push %d of a valid %d-byte order: %d %.400s", i+1, len(body), a.Status, a.Raw)
		}
	}
	if st := w.status(t, id); st.Status == http.StatusNotFound {
		t.Fatalf("no push is recorded: %s", st.Raw)
	}
	_ = json.Valid
}
