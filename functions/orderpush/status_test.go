package orderpush_test

import (
	"context"
	"errors"
	"testing"

	"github.com/d365sap/d365sap/functions/orderpush"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/store"
)

func TestTableRecords(t *testing.T) {
	h := newHarness(t)
	tr := orderpush.TableRecords{Records: h.records}
	if _, err := tr.Get(context.Background(), orderID); !errors.Is(err, orderpush.ErrUnknownOrder) {
		t.Errorf("unknown order: err = %v", err)
	}
	h.seed(t, orderpush.Record{State: orderpush.StateCreated, SAPSalesOrder: "4711", Attempts: 3})
	rec, err := tr.Get(context.Background(), orderID)
	if err != nil || rec.State != orderpush.StateCreated || rec.SAPSalesOrder != "4711" || rec.Attempts != 3 {
		t.Errorf("record %+v, %v", rec, err)
	}
	boom := errors.New("storage: 503")
	h.records.GetFn = func(context.Context, string, string) (store.Row[orderpush.Record], error) {
		return store.Row[orderpush.Record]{}, boom
	}
	if _, err := tr.Get(context.Background(), orderID); problem.KindOf(err) != problem.Unavailable || !errors.Is(err, boom) || errors.Is(err, orderpush.ErrUnknownOrder) {
		t.Errorf("storage down: err = %v", err)
	}
}
