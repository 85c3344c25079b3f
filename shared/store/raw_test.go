package store

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
)

type rawStore interface {
	Insert(ctx context.Context, row Row[json.RawMessage]) (azcore.ETag, error)
	Get(ctx context.Context, partitionKey, rowKey string) (Row[json.RawMessage], error)
	Update(ctx context.Context, row Row[json.RawMessage]) (azcore.ETag, error)
	Query(ctx context.Context, partitionKey string, opts *QueryOptions) iter.Seq2[Row[json.RawMessage], error]
	Find(ctx context.Context, f Filter, opts *FindOptions) iter.Seq2[Row[json.RawMessage], error]
	Transact(ctx context.Context, partition string, ops []Op[json.RawMessage]) error
	TransactETags(ctx context.Context, partition string, ops []Op[json.RawMessage]) (TransactResult, error)
}

var (
	_ rawStore = (*Table[json.RawMessage])(nil)
	_ rawStore = (*MemTable[json.RawMessage])(nil)
)

func forEachRawTable(t *testing.T, test func(t *testing.T, tbl rawStore)) {
	t.Helper()
	t.Run("azurite", func(t *testing.T) {
		tbl, err := NewTable[json.RawMessage](testAccount(t, nil), uniqueName(t, "raw"))
		if err != nil {
			t.Fatal(err)
		}
		if err := tbl.Ensure(t.Context()); err != nil {
			t.Fatal(err)
		}
		test(t, tbl)
	})
	t.Run("memory", func(t *testing.T) { test(t, NewMemTable[json.RawMessage]("raw")) })
}

// record is what the ledger might keep; wide covers every type the raw path carries.
type record struct {
	State   string    `json:"state"`
	Attempt int       `json:"attempt"`
	Big     int64     `json:"big"`
	Limit   int64     `json:"limit"`
	Neg     int64     `json:"neg"`
	Done    bool      `json:"done"`
	At      time.Time `json:"at"`
	Ratio   float64   `json:"ratio"`
}

func TestRawRoundTrip(t *testing.T) { forEachRawTable(t, testRawRoundTrip) }

func testRawRoundTrip(t *testing.T, tbl rawStore) {
	ctx := t.Context()
	in := record{State: "claimed", Attempt: 2, Big: 3_000_000_000, Limit: 1 << 53, Neg: -(1 << 53), Done: true,
		At: time.Date(2026, 11, 27, 5, 1, 2, 345678901, time.UTC), Ratio: 0.5}
	row, err := Raw(Row[record]{PartitionKey: "order-1", RowKey: "record", Value: in})
	if err != nil {
		t.Fatal(err)
	}
	etag, err := tbl.Insert(ctx, row)
	if err != nil {
		t.Fatalf("Insert: %v", err)
	}

	got, err := tbl.Get(ctx, "order-1", "record")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got.ETag != etag || got.PartitionKey != "order-1" || got.RowKey != "record" || got.Timestamp.IsZero() {
		t.Fatalf("Get row fields: %+v (insert ETag %s)", got, etag)
	}
	var props map[string]any
	if err := json.Unmarshal(got.Value, &props); err != nil {
		t.Fatal(err)
	}
	for _, system := range []string{"PartitionKey", "RowKey", "Timestamp", "odata.etag", "odata.metadata"} {
		if _, ok := props[system]; ok {
			t.Errorf("raw value holds %s: %s", system, got.Value)
		}
	}
	if len(props) != 8 {
		t.Errorf("raw value has %d properties, want 8: %s", len(props), got.Value)
	}
	typed, err := Decode[record](got)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if !typed.Value.At.Equal(in.At) {
		t.Fatalf("time changed: %v", typed.Value.At)
	}
	typed.Value.At = in.At
	if typed.Value != in || typed.ETag != etag {
		t.Fatalf("Decode = %+v, want %+v", typed.Value, in)
	}

	// What Get returned is written back as it is, guarded by its ETag.
	typed.Value.State = "sent"
	back, err := Raw(typed)
	if err != nil {
		t.Fatal(err)
	}
	newTag, err := tbl.Update(ctx, back)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if _, err := tbl.Update(ctx, back); !errors.Is(err, ErrPreconditionFailed) {
		t.Fatalf("stale Update: err %v, want ErrPreconditionFailed", err)
	}
	again, err := tbl.Get(ctx, "order-1", "record")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tbl.Update(ctx, again); err != nil {
		t.Fatalf("Update of the value Get returned: %v", err)
	}
	if again.ETag != newTag {
		t.Fatalf("Get ETag %s, Update ETag %s", again.ETag, newTag)
	}
	for row, err := range tbl.Query(ctx, "order-1", nil) {
		if err != nil {
			t.Fatal(err)
		}
		r, err := Decode[record](row)
		if err != nil || r.Value.State != "sent" {
			t.Fatalf("Query row %s: %+v, %v", row.Value, r.Value, err)
		}
	}
}

// An annotation in a raw value types its property, survives the round trip (the service sends it
// back), and makes a DateTime that a time.Time filter finds.
func TestRawAnnotations(t *testing.T) { forEachRawTable(t, testRawAnnotations) }

func testRawAnnotations(t *testing.T, tbl rawStore) {
	ctx := t.Context()
	due := time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC)
	value := `{"dueAt@odata.type":"Edm.DateTime","dueAt":"2026-11-27T05:00:00.0000000Z","n@odata.type":"Edm.Int64","n":"9223372036854775807","s":"x"}`
	if _, err := tbl.Insert(ctx, Row[json.RawMessage]{PartitionKey: "p", RowKey: "typed", Value: json.RawMessage(value)}); err != nil {
		t.Fatalf("Insert: %v", err)
	}
	got, err := tbl.Get(ctx, "p", "typed")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		DueType string    `json:"dueAt@odata.type"`
		Due     time.Time `json:"dueAt"`
		NType   string    `json:"n@odata.type"`
		N       string    `json:"n"`
	}
	if err := json.Unmarshal(got.Value, &v); err != nil {
		t.Fatal(err)
	}
	if v.DueType != "Edm.DateTime" || !v.Due.Equal(due) || v.NType != "Edm.Int64" || v.N != "9223372036854775807" {
		t.Fatalf("annotated value came back as %s", got.Value)
	}
	if _, err := tbl.Update(ctx, got); err != nil {
		t.Fatalf("Update of the annotated value: %v", err)
	}
	for _, tt := range []struct {
		f    Filter
		want int
	}{{Lt("dueAt", due.Add(time.Second)), 1}, {Gt("dueAt", due), 0}} {
		n := 0
		for _, err := range tbl.Find(ctx, And(Eq("PartitionKey", "p"), tt.f), nil) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		if n != tt.want {
			s, _ := tt.f.OData()
			t.Errorf("Find(%s): %d rows, want %d", s, n, tt.want)
		}
	}

	// A null property is dropped with its annotation, as a typed row's omitted field would be.
	if _, err := tbl.Insert(ctx, Row[json.RawMessage]{PartitionKey: "p", RowKey: "null", Value: json.RawMessage(`{"a@odata.type":"Edm.DateTime","a":null,"b":"x"}`)}); err != nil {
		t.Fatalf("Insert with an annotated null: %v", err)
	}

	refused := []string{
		`{"a@odata.type":"Edm.Decimal","a":"1"}`,
		`{"a@odata.type":"Edm.String"}`,
		`{"a@odata.type":1,"a":"1"}`,
		`{"bad-name@odata.type":"Edm.String","bad-name":"1"}`,
	}
	for _, value := range refused {
		if _, err := tbl.Insert(ctx, Row[json.RawMessage]{PartitionKey: "p", RowKey: "bad", Value: json.RawMessage(value)}); !errors.Is(err, ErrInvalid) {
			t.Errorf("Insert %s: err %v, want ErrInvalid", value, err)
		}
	}
}

func TestRawAndDecode(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	typed := Row[record]{PartitionKey: "p", RowKey: "r", ETag: "W/\"1\"", Timestamp: at, Value: record{State: "x", Big: 1 << 40}}
	raw, err := Raw(typed)
	if err != nil {
		t.Fatal(err)
	}
	if raw.PartitionKey != "p" || raw.RowKey != "r" || raw.ETag != typed.ETag || !raw.Timestamp.Equal(at) {
		t.Fatalf("Raw kept %+v", raw)
	}
	back, err := Decode[record](raw)
	if err != nil || back.Value != typed.Value || back.ETag != typed.ETag {
		t.Fatalf("Decode = %+v, %v", back, err)
	}
	if _, err := Raw(Row[chan int]{Value: make(chan int)}); err == nil {
		t.Fatal("Raw of an unmarshallable value should fail")
	}
	if _, err := Decode[record](Row[json.RawMessage]{Value: json.RawMessage(`{"state":1}`)}); err == nil {
		t.Fatal("Decode into the wrong type should fail")
	}
	if empty, err := Decode[record](Row[json.RawMessage]{PartitionKey: "p"}); err != nil || empty.PartitionKey != "p" {
		t.Fatalf("Decode of an empty value: %+v, %v", empty, err)
	}
}
