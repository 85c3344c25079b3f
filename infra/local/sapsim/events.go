package sapsim

import (
	"encoding/json"
	"time"
)

// EventSource is the CloudEvents source the simulator's events carry: S/4HANA names the sending system so.
const EventSource = "/default/sap.s4.beh/SIMCLNT100"

// CloudEvent is the event in the envelope S/4HANA sends it in: structured CloudEvents 1.0 JSON with every data
// field a string, under id (a UUID in SAP's events; a duplicate redelivered keeps it, a copy raised again does
// not).
func (e Event) CloudEvent(id string) []byte {
	b, _ := json.Marshal(map[string]any{"specversion": "1.0", "type": e.Type, "source": EventSource, "id": id,
		"time": e.Raised.UTC().Format(time.RFC3339Nano), "datacontenttype": "application/json", "data": e.Data})
	return b
}
