package store

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Rows of several types can share a table, and a transaction, as a Table[json.RawMessage]: each
// Value is the JSON object of the row's properties, already marshalled ([Raw] makes one from a typed
// row, [Decode] reads one back). A raw Value read from the service holds only the entity's own
// properties (PartitionKey, RowKey, Timestamp and odata.* metadata are moved to the Row's fields), plus
// any "<name>@odata.type" annotation the service sent for a type it cannot infer from JSON
// (Edm.DateTime, Edm.Int64, Edm.Guid, Edm.Binary), so writing the Value back keeps each property's type.
//
// Types on write follow the Table service's inference from JSON (see [Filter]): strings are
// Edm.String (time.Time included, as its RFC 3339 text), booleans Edm.Boolean, integral numbers within
// int32 Edm.Int32 and other numbers Edm.Double, exact up to ±2^53 (the SDK carries numbers as float64).
// An annotation in the Value overrides that, for example "dueAt@odata.type":"Edm.DateTime" beside an
// RFC 3339 "dueAt" makes a property that a time.Time [Filter] can compare.

// Raw marshals a typed row's value, keeping its keys, ETag and Timestamp.
func Raw[T any](row Row[T]) (Row[json.RawMessage], error) {
	v, err := json.Marshal(row.Value)
	if err != nil {
		return Row[json.RawMessage]{}, fmt.Errorf("encoding row (%q, %q): %w", row.PartitionKey, row.RowKey, err)
	}
	return Row[json.RawMessage]{PartitionKey: row.PartitionKey, RowKey: row.RowKey, ETag: row.ETag, Timestamp: row.Timestamp, Value: v}, nil
}

// Decode unmarshals a raw row's value into T, keeping its keys, ETag and Timestamp.
func Decode[T any](row Row[json.RawMessage]) (Row[T], error) {
	out := Row[T]{PartitionKey: row.PartitionKey, RowKey: row.RowKey, ETag: row.ETag, Timestamp: row.Timestamp}
	if len(row.Value) == 0 {
		return out, nil
	}
	if err := json.Unmarshal(row.Value, &out.Value); err != nil {
		return out, fmt.Errorf("decoding row (%q, %q): %w", row.PartitionKey, row.RowKey, err)
	}
	return out, nil
}

// systemProperty reports the names that never travel in a row's value: the keys and Timestamp come
// from the Row, odata.* metadata from the service.
func systemProperty(name string) bool {
	return name == "Timestamp" || name == "PartitionKey" || name == "RowKey" || strings.HasPrefix(name, "odata.") ||
		name == "Timestamp"+odataTypeSuffix || name == "PartitionKey"+odataTypeSuffix || name == "RowKey"+odataTypeSuffix
}

// checkAnnotation admits "<base>@odata.type" only beside a property named base and naming one of the
// service's types; anything else would be refused by the service or silently retype the property.
func checkAnnotation(base string, v json.RawMessage, props map[string]json.RawMessage) error {
	var t string
	if err := json.Unmarshal(v, &t); err != nil {
		return invalid("annotation %s%s must be a string", base, odataTypeSuffix)
	}
	switch edmType(t) {
	case edmString, edmBoolean, edmInt32, edmInt64, edmDouble, edmDateTime, edmGuid, edmBinary:
	default:
		return invalid("annotation %s%s names unknown type %q", base, odataTypeSuffix, t)
	}
	if _, ok := props[base]; !ok || !validPropertyName(base) {
		return invalid("annotation %s%s has no property %q beside it", base, odataTypeSuffix, base)
	}
	return nil
}

// rawValue strips what decodeRow moves into the Row's fields from an entity read from the service.
func rawValue(entity []byte) (json.RawMessage, error) {
	var props map[string]json.RawMessage
	if err := json.Unmarshal(entity, &props); err != nil {
		return nil, err
	}
	for name := range props {
		if systemProperty(name) {
			delete(props, name)
		}
	}
	return json.Marshal(props)
}
