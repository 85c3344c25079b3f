package inventorysync

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"iter"
	"strconv"
	"strings"
	"sync"

	"github.com/d365sap/d365sap/shared/store"
)

// fingerprintPartition prefixes the partitions that hold one row per material the sync has written: what it
// last wrote, so that a value
// read again unchanged costs no Dataverse write.
const fingerprintPartition = "inventory-product"

// fingerprintShards spreads the rows over partitions by a hash of the material: Table Storage serves about
// 2,000 entities a second per partition, which one partition would make the sync's limit, not Dataverse's.
const fingerprintShards = 16

// partitionOf is the partition of a material's fingerprint.
func partitionOf(material string) string {
	h := fnv.New32a()
	h.Write([]byte(material))
	return fmt.Sprintf("%s-%02d", fingerprintPartition, h.Sum32()%fingerprintShards)
}

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
	// CreatedBySync says the sync sent the upsert that created the product, saved before it is sent: a run that
	// dies (or meets an outage) between the create and the publish leaves a draft the next run finds and must
	// publish, while a draft a D365 user made is left alone.
	CreatedBySync bool `json:"cs,omitempty"`
	// Prices are the price list items the prices stream wrote, by price list name, as JSON (an entity holds only
	// flat properties): see priceItems.
	Prices string `json:"pr,omitempty"`
}

// Fingerprints is what the sync needs of the state table's fingerprint rows (a *store.Table[Fingerprint] or a
// *store.MemTable[Fingerprint]).
type Fingerprints interface {
	Get(ctx context.Context, partitionKey, rowKey string) (store.Row[Fingerprint], error)
	Query(ctx context.Context, partitionKey string, opts *store.QueryOptions) iter.Seq2[store.Row[Fingerprint], error]
	Transact(ctx context.Context, partition string, ops []store.Op[Fingerprint]) error
}

// keyFormat names rowKey's code; the products checkpoint carries it.
const keyFormat = "keys3" // keys2 and sharded partitions

// rowKey turns a material number into a RowKey that sorts as the material does. The Table service refuses
// / \ # ? and control characters (C0, DEL, C1) in a key, so those become a code; and since the stock and price
// streams read fingerprints by ranges of materials, the codes keep the order: every character of a group of
// neighbours (the refused ones and the allowed one just below them, which leads the group) is written as the
// leader and its value in two hex digits. "A#1" is `A"231`, after `A"221` ("A"1") and before "A$1". The codes
// are prefix-free, so the order of keys is the order of materials, and a plain number ("SIM0000001") stays as
// it is. A material is compared as Go compares strings, as the streams compare SAP's.
func rowKey(material string) string {
	if !strings.ContainsFunc(material, func(r rune) bool { return keyGroup(r) != 0 }) {
		return material
	}
	var b strings.Builder
	for _, r := range material {
		if lead := keyGroup(r); lead != 0 {
			fmt.Fprintf(&b, "%c%02X", lead, r)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// keyGroups are the leaders and the last character each covers, in order: ' ' covers U+0000-U+0020, '"' the
// '"' and '#', '$' '$' and '%' (a % in a key trips URL handling), '.' '.' and '/', '>' '>' and '?', '[' '[' and '\',
// '~' '~' through U+009F (DEL and the C1 controls).
var keyGroups = []struct{ lead, last rune }{{' ', ' '}, {'"', '#'}, {'$', '%'}, {'.', '/'}, {'>', '?'}, {'[', '\\'}, {'~', 0x9f}}

// keyGroup is the leader of r's group, 0 for a character written as it is.
func keyGroup(r rune) rune {
	for i, g := range keyGroups {
		first := rune(0)
		if i > 0 {
			first = g.lead
		}
		if r >= first && r <= g.last {
			return g.lead
		}
	}
	return 0
}

func isLead(c byte) bool {
	for _, g := range keyGroups {
		if rune(c) == g.lead {
			return true
		}
	}
	return false
}

// materialOf reverses rowKey.
func materialOf(key string) string {
	if !strings.ContainsFunc(key, func(r rune) bool { return keyGroup(r) != 0 }) {
		return key
	}
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		if isLead(key[i]) && i+2 < len(key) {
			if c, err := strconv.ParseUint(key[i+1:i+3], 16, 8); err == nil {
				b.WriteRune(rune(c))
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
				row, err := t.Get(ctx, partitionOf(m), rowKey(m))
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

// fingerprintsBetween reads the fingerprints of the materials in (lo, hi], hi "" for the end: one range of
// keys in each partition, since keys sort as materials do, the partitions read at once.
func fingerprintsBetween(ctx context.Context, t Fingerprints, lo, hi string) (map[string]store.Row[Fingerprint], error) {
	fps := map[string]store.Row[Fingerprint]{}
	opts := &store.QueryOptions{RowKeyFrom: rowKey(lo), PageSize: 1000}
	if hi != "" {
		// Every key that extends hi's goes on with a code, the least of which is " 00": nothing sorts between
		// hi's key and hi's key + " " but hi's own.
		opts.RowKeyBefore = rowKey(hi) + " "
	}
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for shard := range fingerprintShards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			partition := fmt.Sprintf("%s-%02d", fingerprintPartition, shard)
			for row, err := range t.Query(ctx, partition, opts) {
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
					mu.Unlock()
					return
				}
				m := materialOf(row.RowKey)
				// A row under an older key format (%XX) could read as another material; one in another shard
				// than its material's was written by hand or by another version: neither is this material's.
				if rowKey(m) == row.RowKey && partitionOf(m) == partition && m > lo && (hi == "" || m <= hi) {
					fps[m] = row
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("reading fingerprints: %w", err)
	}
	return fps, nil
}

// saveFingerprints writes rows in transactions of the service's maximum size (one partition holds them all),
// several at once: a group of 8,000 values is 80 transactions, which one after another would take longer than
// the Dataverse writes they record.
func saveFingerprints(ctx context.Context, t Fingerprints, rows map[string]Fingerprint) error {
	type txn struct {
		partition string
		ops       []store.Op[Fingerprint]
	}
	byPartition := map[string][]store.Op[Fingerprint]{}
	for m, fp := range rows {
		p := partitionOf(m)
		byPartition[p] = append(byPartition[p], store.Op[Fingerprint]{Kind: store.OpUpsert,
			Row: store.Row[Fingerprint]{PartitionKey: p, RowKey: rowKey(m), Value: fp}})
	}
	var txns []txn
	for p, ops := range byPartition {
		for i := 0; i < len(ops); i += store.MaxTransactionOps {
			txns = append(txns, txn{p, ops[i:min(i+store.MaxTransactionOps, len(ops))]})
		}
	}
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, txn := range txns {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := t.Transact(ctx, txn.partition, txn.ops); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("saving fingerprints: %w", err)
	}
	return nil
}
