package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// Row is one table entity: its keys, the service's concurrency token, and the caller's typed value.
// Value is marshalled with encoding/json and its fields become the entity's properties, beside
// PartitionKey and RowKey. Properties named PartitionKey, RowKey, Timestamp or odata.* in Value are
// ignored on write (the keys come from the Row, the rest from the service).
type Row[T any] struct {
	PartitionKey string
	RowKey       string
	// ETag is set by Get, Query, Insert, Update and Upsert; Update and Delete send it as If-Match.
	ETag azcore.ETag
	// Timestamp is the service's last-modified time (zero on rows returned by writes).
	Timestamp time.Time
	Value     T
}

// Table is a table of entities whose properties are the JSON fields of T. It is safe for concurrent use.
type Table[T any] struct {
	name   string
	client *aztables.Client
}

// NewTable returns a handle on the named table; it does not create it (see [Table.Ensure]).
// Table names are 3-63 letters and digits starting with a letter.
func NewTable[T any](a *Account, name string) (*Table[T], error) {
	if !validTableName(name) {
		return nil, invalid("table name %q must be 3-63 letters and digits starting with a letter", name)
	}
	return &Table[T]{name: name, client: a.tables.NewClient(name)}, nil
}

// Name returns the table's name.
func (t *Table[T]) Name() string { return t.name }

// EnsureTable creates the named table unless it exists.
func (a *Account) EnsureTable(ctx context.Context, name string) error {
	if !validTableName(name) {
		return invalid("table name %q must be 3-63 letters and digits starting with a letter", name)
	}
	_, err := a.tables.CreateTable(ctx, name, nil)
	if err != nil && !hasCode(err, string(aztables.TableAlreadyExists)) {
		return fmt.Errorf("creating table: %w", classify(err, "table "+name))
	}
	return nil
}

// Ensure creates the table unless it exists.
func (t *Table[T]) Ensure(ctx context.Context) error {
	_, err := t.client.CreateTable(ctx, nil)
	if err != nil && !hasCode(err, string(aztables.TableAlreadyExists)) {
		return fmt.Errorf("creating table: %w", classify(err, "table "+t.name))
	}
	return nil
}

func (t *Table[T]) resource(pk, rk string) string {
	return fmt.Sprintf("table %s entity (%q, %q)", t.name, pk, rk)
}

// Insert adds the row only if no entity has its keys: a second Insert of the same keys fails with a
// [*ConflictError] (code EntityAlreadyExists) matching [ErrConflict]. It returns the new ETag.
func (t *Table[T]) Insert(ctx context.Context, row Row[T]) (azcore.ETag, error) {
	body, err := encodeRow(row)
	if err != nil {
		return "", fmt.Errorf("inserting into table %s: %w", t.name, err)
	}
	resp, err := t.client.AddEntity(ctx, body, &aztables.AddEntityOptions{Format: to.Ptr(aztables.MetadataFormatNone)})
	if err != nil {
		return "", fmt.Errorf("inserting entity: %w", classify(err, t.resource(row.PartitionKey, row.RowKey)))
	}
	return resp.ETag, nil
}

// Get reads one entity; a missing one fails with [ErrNotFound].
func (t *Table[T]) Get(ctx context.Context, partitionKey, rowKey string) (Row[T], error) {
	if err := validKeys(partitionKey, rowKey); err != nil {
		return Row[T]{}, fmt.Errorf("getting entity from table %s: %w", t.name, err)
	}
	resp, err := t.client.GetEntity(ctx, partitionKey, rowKey, nil)
	if err != nil {
		return Row[T]{}, fmt.Errorf("getting entity: %w", classify(err, t.resource(partitionKey, rowKey)))
	}
	row, err := decodeRow[T](resp.Value)
	if err != nil {
		return Row[T]{}, fmt.Errorf("decoding %s: %w", t.resource(partitionKey, rowKey), err)
	}
	row.ETag = resp.ETag
	return row, nil
}

// Update replaces the entity only if its ETag still equals row.ETag (which must be set; use Upsert for
// an unconditional write). A stale ETag fails with a [*ConflictError] whose PreconditionFailed is true
// (code UpdateConditionNotSatisfied); a missing entity fails with [ErrNotFound]. It returns the new ETag.
func (t *Table[T]) Update(ctx context.Context, row Row[T]) (azcore.ETag, error) {
	if row.ETag == "" {
		return "", fmt.Errorf("updating entity in table %s: %w", t.name, invalid("Update needs the row's ETag; use Upsert for an unconditional write"))
	}
	body, err := encodeRow(row)
	if err != nil {
		return "", fmt.Errorf("updating entity in table %s: %w", t.name, err)
	}
	resp, err := t.client.UpdateEntity(ctx, body, &aztables.UpdateEntityOptions{IfMatch: &row.ETag, UpdateMode: aztables.UpdateModeReplace})
	if err != nil {
		return "", fmt.Errorf("updating entity: %w", classify(err, t.resource(row.PartitionKey, row.RowKey)))
	}
	return resp.ETag, nil
}

// Upsert writes the row whether or not it exists, replacing all its properties; row.ETag is ignored.
func (t *Table[T]) Upsert(ctx context.Context, row Row[T]) (azcore.ETag, error) {
	body, err := encodeRow(row)
	if err != nil {
		return "", fmt.Errorf("upserting entity in table %s: %w", t.name, err)
	}
	resp, err := t.client.UpsertEntity(ctx, body, &aztables.UpsertEntityOptions{UpdateMode: aztables.UpdateModeReplace})
	if err != nil {
		return "", fmt.Errorf("upserting entity: %w", classify(err, t.resource(row.PartitionKey, row.RowKey)))
	}
	return resp.ETag, nil
}

// Delete removes the entity if its ETag equals etag; pass azcore.ETagAny to delete unconditionally
// (an empty etag is refused so that "unconditional" is always spelled out). A stale ETag fails with a
// [*ConflictError] (412); a missing entity with [ErrNotFound].
func (t *Table[T]) Delete(ctx context.Context, partitionKey, rowKey string, etag azcore.ETag) error {
	if etag == "" {
		return fmt.Errorf("deleting entity from table %s: %w", t.name, invalid("Delete needs an ETag (azcore.ETagAny for unconditional)"))
	}
	if err := validKeys(partitionKey, rowKey); err != nil {
		return fmt.Errorf("deleting entity from table %s: %w", t.name, err)
	}
	_, err := t.client.DeleteEntity(ctx, partitionKey, rowKey, &aztables.DeleteEntityOptions{IfMatch: &etag})
	if err != nil {
		return fmt.Errorf("deleting entity: %w", classify(err, t.resource(partitionKey, rowKey)))
	}
	return nil
}

// QueryOptions narrows a partition query. A nil *QueryOptions means the whole partition.
type QueryOptions struct {
	// RowKeyFrom keeps rows whose RowKey >= RowKeyFrom (when not empty).
	RowKeyFrom string
	// RowKeyBefore keeps rows whose RowKey < RowKeyBefore (when not empty).
	RowKeyBefore string
	// PageSize is how many entities each round trip asks for (the service caps it at 1000).
	PageSize int32
}

// Query streams the rows of one partition in RowKey order, fetching pages as the loop advances.
// Iteration stops at the first error, which is yielded with a zero Row.
func (t *Table[T]) Query(ctx context.Context, partitionKey string, opts *QueryOptions) iter.Seq2[Row[T], error] {
	return func(yield func(Row[T], error) bool) {
		if err := validKeys(partitionKey, ""); err != nil {
			yield(Row[T]{}, fmt.Errorf("querying table %s: %w", t.name, err))
			return
		}
		filter := "PartitionKey eq " + odataString(partitionKey)
		lo := &aztables.ListEntitiesOptions{}
		if opts != nil {
			if opts.RowKeyFrom != "" {
				filter += " and RowKey ge " + odataString(opts.RowKeyFrom)
			}
			if opts.RowKeyBefore != "" {
				filter += " and RowKey lt " + odataString(opts.RowKeyBefore)
			}
			if opts.PageSize > 0 {
				lo.Top = to.Ptr(opts.PageSize)
			}
		}
		lo.Filter = &filter
		pager := t.client.NewListEntitiesPager(lo)
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				yield(Row[T]{}, fmt.Errorf("querying table %s partition %q: %w", t.name, partitionKey, classify(err, "table "+t.name)))
				return
			}
			for _, raw := range page.Entities {
				row, err := decodeRow[T](raw)
				if err != nil {
					yield(Row[T]{}, fmt.Errorf("decoding entity from table %s: %w", t.name, err))
					return
				}
				if !yield(row, nil) {
					return
				}
			}
		}
	}
}

// odataString quotes s as an OData string literal (single quotes doubled).
func odataString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// encodeRow merges the row's keys into the JSON object of its value.
func encodeRow[T any](row Row[T]) ([]byte, error) {
	if err := validKeys(row.PartitionKey, row.RowKey); err != nil {
		return nil, err
	}
	raw, err := json.Marshal(row.Value)
	if err != nil {
		return nil, fmt.Errorf("encoding entity value: %w", err)
	}
	props := map[string]json.RawMessage{}
	if err := json.Unmarshal(raw, &props); err != nil {
		return nil, invalid("entity value must encode as a JSON object: %v", err)
	}
	var errs []error
	for name, v := range props {
		// Nulls are dropped, with their annotations: the service would store nothing for them anyway.
		if systemProperty(name) || string(v) == "null" {
			delete(props, name)
			delete(props, name+odataTypeSuffix)
		}
	}
	annotations := 0
	for name, v := range props {
		if base, ok := strings.CutSuffix(name, odataTypeSuffix); ok {
			annotations++
			if err := checkAnnotation(base, v, props); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		if err := checkProperty(name, v); err != nil {
			errs = append(errs, err)
		}
	}
	if n := len(props) - annotations; n > maxProperties {
		errs = append(errs, invalid("%d properties exceed the service's %d", n, maxProperties))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	props["PartitionKey"], _ = json.Marshal(row.PartitionKey)
	props["RowKey"], _ = json.Marshal(row.RowKey)
	return json.Marshal(props)
}

// maxProperties is the Table service's 255 properties less PartitionKey, RowKey and Timestamp.
const maxProperties = 252

// checkProperty refuses what the Table service would refuse or silently damage: names that are not
// C#-style identifiers, nested objects and arrays (400 InvalidInput), strings over 64 KiB, and
// integers beyond ±2^53, which the SDK carries as float64 and so rounds.
func checkProperty(name string, v json.RawMessage) error {
	if !validPropertyName(name) {
		return invalid("property name %q must be a letter or _ then letters, digits or _ (at most 255)", name)
	}
	switch v[0] {
	case '{', '[':
		return invalid("property %s is an object or array; the Table service stores only scalars (encode it to a string)", name)
	case '"':
		var s string
		if err := json.Unmarshal(v, &s); err == nil && len(utf16.Encode([]rune(s)))*2 > 64*1024 {
			return invalid("property %s is over 64 KiB", name)
		}
	case 't', 'f':
	default:
		if !bytes.ContainsAny(v, ".eE") {
			n, err := strconv.ParseInt(string(v), 10, 64)
			if err != nil || n > 1<<53 || n < -(1<<53) {
				return invalid("property %s holds an integer beyond ±2^53 that would be rounded; store it as a string", name)
			}
		}
	}
	return nil
}

func validPropertyName(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for i, r := range s {
		ok := r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && r >= '0' && r <= '9')
		if !ok {
			return false
		}
	}
	return true
}

// decodeRow reads an entity as returned by the service (minimal metadata) into a Row.
func decodeRow[T any](raw []byte) (Row[T], error) {
	var row Row[T]
	var meta struct {
		PartitionKey string `json:"PartitionKey"`
		RowKey       string `json:"RowKey"`
		Timestamp    string `json:"Timestamp"`
		ETag         string `json:"odata.etag"`
	}
	if err := json.Unmarshal(raw, &meta); err != nil {
		return row, err
	}
	if rv, ok := any(&row.Value).(*json.RawMessage); ok {
		// A raw value is the entity's own properties: the rest is in the Row's fields.
		v, err := rawValue(raw)
		if err != nil {
			return row, err
		}
		*rv = v
	} else if err := json.Unmarshal(raw, &row.Value); err != nil {
		return row, err
	}
	row.PartitionKey, row.RowKey, row.ETag = meta.PartitionKey, meta.RowKey, azcore.ETag(meta.ETag)
	if meta.Timestamp != "" {
		if ts, err := time.Parse(time.RFC3339Nano, meta.Timestamp); err == nil {
			row.Timestamp = ts
		}
	}
	return row, nil
}

// validTableName applies the Table service's rule: 3-63 ASCII letters and digits, starting with a letter.
func validTableName(s string) bool {
	if len(s) < 3 || len(s) > 63 || strings.EqualFold(s, "tables") {
		return false
	}
	for i, r := range s {
		letter := (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if !letter && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// validKeys rejects keys the Table service refuses: over 1 KiB, or holding / \ # ? or control characters.
func validKeys(keys ...string) error {
	var errs []error
	for _, k := range keys {
		if len(k) > 1024 {
			errs = append(errs, invalid("key longer than 1 KiB"))
			continue
		}
		if strings.ContainsAny(k, `/\#?`) || strings.ContainsFunc(k, func(r rune) bool { return r < 0x20 || (r >= 0x7f && r <= 0x9f) }) {
			errs = append(errs, invalid("key %q holds a character the Table service refuses (/ \\ # ? or control)", k))
		}
	}
	return errors.Join(errs...)
}
