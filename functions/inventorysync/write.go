package inventorysync

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/d365sap/d365sap/shared/dataverse"
)

// recordProblem reports whether Dataverse refused the records themselves (a bad value, a row that is gone),
// which splitting finds, rather than being unable to take any (throttled past its retries, down, refusing the
// credentials), which only a later run can get past.
func recordProblem(err error) bool {
	if errors.Is(err, dataverse.ErrKeyNotAddressable) {
		return true // the record's key cannot be put in a URL: no request names it
	}
	var de *dataverse.Error
	if !errors.As(err, &de) {
		return false
	}
	switch de.Kind {
	case dataverse.KindBadRequest, dataverse.KindNotFound, dataverse.KindDuplicate, dataverse.KindConcurrency:
		return true
	}
	return false
}

// sendFunc writes records in one request (the client splits nothing further when given at most its chunk size)
// and returns the ids Dataverse gave them, where it gives any.
type sendFunc func(ctx context.Context, recs []dataverse.Record) ([]string, error)

// writeAll sends recs and returns which landed. A bulk message on a standard table is all or nothing, so a
// chunk Dataverse refuses for its records is split in halves until each refused record is alone; that record is
// dead-lettered with Dataverse's reason and the rest land. A failure that is not about the records (an outage)
// returns the error: nothing after it is known to have landed, and the caller keeps its checkpoint.
func (r *run) writeAll(ctx context.Context, stream string, recs []dataverse.Record, keys []string, send sendFunc,
	st *StreamStats) ([]bool, error) {
	return r.writeAllCounted(ctx, stream, recs, keys, send, st, true)
}

// writeAllCounted is writeAll that counts the records written in st.Written only when count says so (a second
// write of records already counted, such as a state change after an upsert, is not another value written).
func (r *run) writeAllCounted(ctx context.Context, stream string, recs []dataverse.Record, keys []string, send sendFunc,
	st *StreamStats, count bool) ([]bool, error) {
	written := st.Written
	landed, _, err := r.writeAllIDs(ctx, stream, recs, keys, send, st)
	if !count {
		st.Written = written
	}
	return landed, err
}

// writeAllIDs is writeAll that also returns the ids Dataverse gave the records that landed ("" where none).
// The records go in requests of BatchSize, Parallel of them at once: one request at a time leaves most of the
// service protection limit unused (1,200 s of server time per 300 s is four requests busy on average), and the
// Dataverse client's adaptive concurrency keeps the whole below the limits.
func (r *run) writeAllIDs(ctx context.Context, stream string, recs []dataverse.Record, keys []string, send sendFunc,
	st *StreamStats) ([]bool, []string, error) {
	landed := make([]bool, len(recs))
	ids := make([]string, len(recs))
	var mu sync.Mutex // guards st, r.gone and the dead letters' order
	var split func(lo, hi int) error
	split = func(lo, hi int) error {
		got, err := send(ctx, recs[lo:hi])
		if err == nil {
			for i := lo; i < hi; i++ {
				landed[i] = true // each index is written by one chunk only
				if i-lo < len(got) {
					ids[i] = got[i-lo]
				}
			}
			mu.Lock()
			st.Written += int64(hi - lo)
			mu.Unlock()
			return nil
		}
		if !recordProblem(err) {
			return err
		}
		if hi-lo == 1 && isNotFound(err) && r.gone != nil {
			// Updated by id and not found: someone deleted the product in D365. Dead-lettering it would repeat
			// every run (and split its batch every run); instead the caller forgets the product, so nothing is
			// written to it again until it is created again (when SAP changes it, or by a drift fix).
			mu.Lock()
			st.Skipped++
			r.gone[keys[lo]] = true
			mu.Unlock()
			r.Log.WarnContext(ctx, "inventory product deleted in D365: forgotten until SAP changes it or a drift fix recreates it",
				"stream", stream, "key", keys[lo])
			return nil
		}
		if hi-lo == 1 {
			mu.Lock()
			st.Failed++
			mu.Unlock()
			r.Log.WarnContext(ctx, "inventory record refused by Dataverse: dead-lettered", "stream", stream, "key", keys[lo], "error", err)
			if derr := r.DeadLetters.DeadLetterRecord(ctx, stream, keys[lo], recs[lo], err); derr != nil {
				return fmt.Errorf("dead-lettering %s %s: %w", stream, keys[lo], derr)
			}
			return nil
		}
		mid := lo + (hi-lo)/2
		if err := split(lo, mid); err != nil {
			return err
		}
		return split(mid, hi)
	}
	size := max(r.BatchSize, 1)
	after := r.afterChunk
	var wg sync.WaitGroup
	var errs []error
	sem := make(chan struct{}, max(r.Parallel, 1))
	for lo := 0; lo < len(recs); lo += size {
		hi := min(lo+size, len(recs))
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			err := split(lo, hi)
			if err == nil && after != nil {
				// What landed of the chunk is recorded while other chunks are still on their way to Dataverse.
				err = after(lo, hi, landed)
			}
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return landed, ids, fmt.Errorf("writing %s: %w", stream, err)
	}
	return landed, ids, nil
}
