package inventorysync

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"strings"
	"sync"

	"github.com/d365sap/d365sap/shared/store"
)

// fingerprintPartition holds one row per material the sync has written: what it last wrote, so that a value
// read again unchanged costs no Dataverse write.
const fingerprintPartition = "inventory-product"

// Fingerprint is what the sync last wrote of one product.
type Fingerprint struct {
	// ID is the D365 productid, known once the product was created or found.
	ID string `json:"id,omitempty"`
	// Product is the digest of the product columns last written (mapping included), "" before the first write.
	Product string `json:"p,omitempty"`
	// State is the statecode the sync last set or found: 0 active, 1 retired, 2 draft.
	State int `json:"st"`
	// Stock is the quantityonhand last written, as text; StockMapping the stock mapping it was summed under.
	Stock        string `json:"s,omitempty"`
	StockMapping string `json:"sm,omitempty"`
	// RetiredBySync says the sync retired the product because SAP flagged it: only such a product is brought
	// back when SAP clears the flag, never one a D365 user retired.
	RetiredBySync bool `json:"rs,omitempty"`
}

// Fingerprints is what the sync needs of the state table's fingerprint rows (a *store.Table[Fingerprint] or a
// *store.MemTable[Fingerprint]).
type Fingerprints interface {
	Get(ctx context.Context, partitionKey, rowKey string) (store.Row[Fingerprint], error)
	Query(ctx context.Context, partitionKey string, opts *store.QueryOptions) iter.Seq2[store.Row[Fingerprint], error]
	Transact(ctx context.Context, partition string, ops []store.Op[Fingerprint]) error
}

// rowKey escapes a material number into a RowKey: the Table service refuses / \ # ? and control characters, so
// those (and the escape character %) become %XX. Every other character stays, so keys sort as SAP sorts
// materials, which the stock stream's range reads rely on (and fall back from where escaping changes it).
func rowKey(material string) string {
	if !strings.ContainsFunc(material, escaped) {
		return material
	}
	var b strings.Builder
	for _, c := range []byte(material) {
		if c < 0x80 && escaped(rune(c)) {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func escaped(r rune) bool {
	return r == '/' || r == '\\' || r == '#' || r == '?' || r == '%' || r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f)
}

// materialOf reverses rowKey.
func materialOf(key string) string {
	if !strings.Contains(key, "%") {
		return key
	}
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		if key[i] == '%' && i+2 < len(key) {
			if c, err := strconv.ParseUint(key[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(c))
				i += 2
				continue
			}
		}
		b.WriteByte(key[i])
	}
	return b.String()
}

// fingerprintsOf reads the fingerprints of materials, several at a time; a material without one is absent.
func fingerprintsOf(ctx context.Context, t Fingerprints, materials []string) (map[string]store.Row[Fingerprint], error) {
	out := make(map[string]store.Row[Fingerprint], len(materials))
	var mu sync.Mutex
	var errs []error
	work := make(chan string)
	var wg sync.WaitGroup
	for range min(16, len(materials)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range work {
				row, err := t.Get(ctx, fingerprintPartition, rowKey(m))
				mu.Lock()
				switch {
				case err == nil:
					out[m] = row
				case !errors.Is(err, store.ErrNotFound):
					errs = append(errs, err)
				}
				mu.Unlock()
			}
		}()
	}
	for _, m := range materials {
		work <- m
	}
	close(work)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("reading fingerprints: %w", err)
	}
	return out, nil
}

// saveFingerprints writes rows in transactions of the service's maximum size (one partition holds them all).
func saveFingerprints(ctx context.Context, t Fingerprints, rows map[string]Fingerprint) error {
	ops := make([]store.Op[Fingerprint], 0, min(len(rows), store.MaxTransactionOps))
	flush := func() error {
		if len(ops) == 0 {
			return nil
		}
		err := t.Transact(ctx, fingerprintPartition, ops)
		ops = ops[:0]
		return err
	}
	for m, fp := range rows {
		ops = append(ops, store.Op[Fingerprint]{Kind: store.OpUpsert,
			Row: store.Row[Fingerprint]{PartitionKey: fingerprintPartition, RowKey: rowKey(m), Value: fp}})
		if len(ops) == store.MaxTransactionOps {
			if err := flush(); err != nil {
				return fmt.Errorf("saving fingerprints: %w", err)
			}
		}
	}
	if err := flush(); err != nil {
		return fmt.Errorf("saving fingerprints: %w", err)
	}
	return nil
}
