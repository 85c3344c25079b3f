package store

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// MaxTransactionOps is the Table service's cap on operations in one entity-group transaction.
// The SDK does not enforce it (Azurite answers 101 with a response the SDK cannot parse).
const MaxTransactionOps = 100

// OpKind is what one transaction operation does.
type OpKind int

const (
	OpInsert OpKind = iota + 1 // create-only, like Table.Insert
	OpUpdate                   // replace guarded by Row.ETag, like Table.Update
	OpUpsert                   // unconditional replace-or-insert, like Table.Upsert
	OpDelete                   // delete guarded by Row.ETag (azcore.ETagAny for unconditional)
)

func (k OpKind) String() string {
	switch k {
	case OpInsert:
		return "insert"
	case OpUpdate:
		return "update"
	case OpUpsert:
		return "upsert"
	case OpDelete:
		return "delete"
	}
	return "OpKind(" + strconv.Itoa(int(k)) + ")"
}

// Op is one operation of a transaction. For OpDelete only the Row's keys and ETag matter.
type Op[T any] struct {
	Kind OpKind
	Row  Row[T]
}

// TransactionError reports the operation that made the service refuse a whole transaction (none of
// its operations was applied). It matches ErrConflict (and ErrPreconditionFailed for 412) or
// ErrNotFound as the failed operation's status says.
type TransactionError struct {
	Table string
	// Index is the failed operation's position in the ops slice, or -1 when the service did not say.
	Index      int
	StatusCode int    // the failed operation's HTTP status, e.g. 409
	Code       string // the failed operation's error code, e.g. EntityAlreadyExists
	Err        error  // the *azcore.ResponseError of the batch request
}

func (e *TransactionError) Error() string {
	return fmt.Sprintf("transaction on table %s refused at operation %d: %d %s", e.Table, e.Index, e.StatusCode, e.Code)
}

func (e *TransactionError) Unwrap() error { return e.Err }

func (e *TransactionError) Is(target error) bool {
	switch target {
	case ErrConflict:
		return e.StatusCode == http.StatusConflict || e.StatusCode == http.StatusPreconditionFailed
	case ErrPreconditionFailed:
		return e.StatusCode == http.StatusPreconditionFailed
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	}
	return false
}

// Transact applies ops atomically: all succeed or none does. Every op must be in partition, row keys
// must not repeat, and there may be at most MaxTransactionOps of them; otherwise it fails with
// ErrInvalid before sending anything. A refused transaction fails with a [*TransactionError] naming the
// failed operation. Use [Table.TransactETags] to learn the rows' new ETags.
func (t *Table[T]) Transact(ctx context.Context, partition string, ops []Op[T]) error {
	_, err := t.TransactETags(ctx, partition, ops)
	return err
}

// TransactResult is what a committed transaction reports.
type TransactResult struct {
	// ETags[i] is the new ETag of ops[i]'s row, read from the service's answer to that operation;
	// empty for a delete, and for any operation whose answer carried none (Get that row to update it).
	ETags []azcore.ETag
}

// TransactETags is [Table.Transact] that also returns each written row's new ETag, so the caller can
// guard its next update without reading the rows again.
func (t *Table[T]) TransactETags(ctx context.Context, partition string, ops []Op[T]) (TransactResult, error) {
	if err := checkOps(partition, ops); err != nil {
		return TransactResult{}, fmt.Errorf("submitting transaction to table %s: %w", t.name, err)
	}
	actions := make([]aztables.TransactionAction, len(ops))
	for i, op := range ops {
		var body []byte
		var err error
		if op.Kind == OpDelete {
			body, err = json.Marshal(map[string]string{"PartitionKey": op.Row.PartitionKey, "RowKey": op.Row.RowKey})
		} else {
			body, err = encodeRow(op.Row)
		}
		if err != nil {
			return TransactResult{}, fmt.Errorf("encoding transaction operation %d: %w", i, err)
		}
		a := aztables.TransactionAction{Entity: body}
		switch op.Kind {
		case OpInsert:
			a.ActionType = aztables.TransactionTypeAdd
		case OpUpdate:
			a.ActionType, a.IfMatch = aztables.TransactionTypeUpdateReplace, &op.Row.ETag
		case OpUpsert:
			a.ActionType = aztables.TransactionTypeInsertReplace
		case OpDelete:
			a.ActionType, a.IfMatch = aztables.TransactionTypeDelete, &op.Row.ETag
		}
		actions[i] = a
	}
	// The SDK reads the batch answer but returns nothing of it; capturing the raw response lets us
	// read the per-operation ETags from the changeset's parts.
	var resp *http.Response
	if _, err := t.client.SubmitTransaction(policy.WithCaptureResponse(ctx, &resp), actions, nil); err != nil {
		if te := decodeTransactionError(t.name, err); te != nil {
			return TransactResult{}, fmt.Errorf("submitting transaction: %w", te)
		}
		return TransactResult{}, fmt.Errorf("submitting transaction to table %s: %w", t.name, classify(err, "table "+t.name))
	}
	res := TransactResult{ETags: make([]azcore.ETag, len(ops))}
	if resp != nil {
		if body, err := runtime.Payload(resp); err == nil {
			tags := batchETags(resp.Header.Get("Content-Type"), body)
			// The service answers the operations in the order they were sent; a count that does not
			// match means an answer we do not understand, and no ETag is better than a wrong one.
			if len(tags) == len(ops) {
				copy(res.ETags, tags)
			}
		}
	}
	for i, op := range ops {
		if op.Kind == OpDelete {
			res.ETags[i] = ""
		}
	}
	return res, nil
}

// batchETags lists the ETag header of every operation answer in a batch response, in order.
func batchETags(contentType string, body []byte) []azcore.ETag {
	parts, err := multipartParts(contentType, bytes.NewReader(body))
	if err != nil {
		return nil
	}
	var tags []azcore.ETag
	for _, p := range parts {
		ct := p.headerGet("Content-Type")
		if strings.HasPrefix(ct, "multipart/") {
			tags = append(tags, batchETags(ct, p.body)...)
			continue
		}
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(p.body)), nil)
		if err != nil {
			continue
		}
		resp.Body.Close()
		tags = append(tags, azcore.ETag(resp.Header.Get("ETag")))
	}
	return tags
}

func checkOps[T any](partition string, ops []Op[T]) error {
	if len(ops) == 0 {
		return invalid("a transaction needs at least one operation")
	}
	if len(ops) > MaxTransactionOps {
		return invalid("a transaction holds at most %d operations, got %d", MaxTransactionOps, len(ops))
	}
	seen := make(map[string]int, len(ops))
	for i, op := range ops {
		if op.Row.PartitionKey != partition {
			return invalid("operation %d is in partition %q, not %q: a transaction spans one partition", i, op.Row.PartitionKey, partition)
		}
		if j, dup := seen[op.Row.RowKey]; dup {
			return invalid("operations %d and %d both address row %q", j, i, op.Row.RowKey)
		}
		seen[op.Row.RowKey] = i
		switch op.Kind {
		case OpInsert, OpUpsert:
		case OpUpdate, OpDelete:
			if op.Row.ETag == "" {
				return invalid("operation %d (%s) needs an ETag (azcore.ETagAny for unconditional)", i, op.Kind)
			}
		default:
			return invalid("operation %d has unknown kind %s", i, op.Kind)
		}
	}
	return nil
}

// decodeTransactionError reads a refused transaction. The service answers the batch with 202 and
// puts the failed operation's HTTP response inside the multipart body, so the SDK's ResponseError has
// no ErrorCode; the status, code and "index:" message prefix are only in that body.
func decodeTransactionError(table string, err error) *TransactionError {
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusAccepted || re.RawResponse == nil {
		return nil
	}
	body, perr := runtime.Payload(re.RawResponse)
	if perr != nil {
		return nil
	}
	te := parseBatchFailure(re.RawResponse.Header.Get("Content-Type"), body)
	if te == nil {
		return nil
	}
	te.Table, te.Err = table, err
	return te
}

// parseBatchFailure finds the first inner response with a status of 400 or more in a batch response.
func parseBatchFailure(contentType string, body []byte) *TransactionError {
	parts, err := multipartParts(contentType, bytes.NewReader(body))
	if err != nil {
		return nil
	}
	for _, p := range parts {
		ct := p.headerGet("Content-Type")
		if strings.HasPrefix(ct, "multipart/") {
			// The changeset nested in the batch.
			if te := parseBatchFailure(ct, p.body); te != nil {
				return te
			}
			continue
		}
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(p.body)), nil)
		if err != nil {
			continue
		}
		inner, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode < 400 {
			continue
		}
		te := &TransactionError{Index: -1, StatusCode: resp.StatusCode}
		var odata struct {
			Error struct {
				Code    string `json:"code"`
				Message struct {
					Value string `json:"value"`
				} `json:"message"`
			} `json:"odata.error"`
		}
		if json.Unmarshal(inner, &odata) == nil {
			te.Code = odata.Error.Code
			// The service prefixes the message with the failed operation's 0-based index: "1:The specified...".
			if n, _, ok := strings.Cut(odata.Error.Message.Value, ":"); ok {
				if i, err := strconv.Atoi(n); err == nil && i >= 0 {
					te.Index = i
				}
			}
		}
		if te.Index < 0 {
			// Azurite also numbers the parts with a 1-based Content-ID.
			if id, err := strconv.Atoi(resp.Header.Get("Content-ID")); err == nil && id > 0 {
				te.Index = id - 1
			}
		}
		return te
	}
	return nil
}

type mimePart struct {
	header map[string][]string
	body   []byte
}

func (p mimePart) headerGet(k string) string { return http.Header(p.header).Get(k) }

func multipartParts(contentType string, r io.Reader) ([]mimePart, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || !strings.HasPrefix(mt, "multipart/") || params["boundary"] == "" {
		return nil, fmt.Errorf("parsing batch content type %q: not multipart", contentType)
	}
	mr := multipart.NewReader(r, params["boundary"])
	var parts []mimePart
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return parts, nil
		}
		if err != nil {
			return parts, err
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return parts, err
		}
		parts = append(parts, mimePart{header: p.Header, body: b})
	}
}
