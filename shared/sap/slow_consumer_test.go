package sap

import (
	"testing"
	"time"

	"github.com/d365sap/d365sap/infra/local/sapsim"
)

// A consumer that does slow work between rows (a sync writing each batch to Dataverse) must not lose the page
// it is reading to the client's timeout: the page is read whole before its rows are handed out.
func TestASlowConsumerReadsEveryRowPastTheClientTimeout(t *testing.T) {
	// Pages of 1,000 rows (about 400 KB, far more than the connection's buffers hold), 3 ms of work a row: 3 s
	// a page, ten times the timeout.
	e := newEnv(t, sapsim.Options{Products: 2000, PageSize: 1000}, func(o *Options) { o.Timeout = 300 * time.Millisecond })
	n := 0
	for _, err := range e.c.ProductsChangedSince(t.Context(), ProductQuery{WithDescriptions: true}).All() {
		if err != nil {
			t.Fatalf("after %d rows: %v", n, err)
		}
		n++
		time.Sleep(3 * time.Millisecond)
	}
	if n != 2000 {
		t.Fatalf("read %d products, want 2000", n)
	}
}
