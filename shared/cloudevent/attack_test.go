package cloudevent_test

// Cases from an outside review of the reader: media types are case-insensitive, and data with data_base64 is refused.

import (
	"net/http"
	"testing"

	"github.com/d365sap/d365sap/shared/cloudevent"
)

const attackType = `"type":"sap.s4.beh.salesorder.v1.SalesOrder.Changed.v1"`

// What ReadHTTP accepts, Marshal writes and ReadQueue must read back: otherwise an event answered 2xx to the
// sender is dead-lettered by the status path. Media types are case-insensitive (RFC 2045 §5.1, RFC 6838 §4.2).
func TestAttackWhatReadHTTPAcceptsReadsBackFromTheQueue(t *testing.T) {
	for name, h := range map[string]http.Header{
		"binary, Content-Type in capitals": headers("Content-Type", "Application/JSON", "ce-specversion", "1.0", "ce-type",
			"sap.s4.beh.salesorder.v1.SalesOrder.Changed.v1", "ce-source", "/s", "ce-id", "b-1"),
	} {
		t.Run(name, func(t *testing.T) {
			evs, err := cloudevent.ReadHTTP(h, []byte(`{"SalesOrder":"164"}`))
			if err != nil {
				t.Fatalf("refused: %v (media types are case-insensitive)", err)
			}
			b, err := evs[0].Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cloudevent.ReadQueue(b); err != nil {
				t.Fatalf("ReadHTTP accepted it, ReadQueue refuses %s: %v", b, err)
			}
		})
	}
}

// A structured event whose datacontenttype is JSON written in capitals is a valid CloudEvent (the code itself
// lower-cases the media type to compare it), yet the SDK's own check refuses it first with a 400.
func TestAttackStructuredDataContentTypeIsCaseInsensitive(t *testing.T) {
	body := `{"specversion":"1.0",` + attackType + `,"source":"/s","id":"x","datacontenttype":"Application/JSON","data":{"SalesOrder":"1"}}`
	if _, err := cloudevent.ReadHTTP(headers("Content-Type", cloudevent.Structured), []byte(body)); err != nil {
		t.Fatalf("a valid event with datacontenttype Application/JSON refused: %v", err)
	}
}

// CloudEvents JSON format §3.1: "data" and "data_base64" MUST NOT both be present. Such an envelope is accepted,
// and which of the two documents it names is left to the SDK (it takes data_base64).
func TestAttackDataAndDataBase64TogetherAreRefused(t *testing.T) {
	body := `{"specversion":"1.0",` + attackType + `,"source":"/s","id":"x","data":{"SalesOrder":"1"},"data_base64":"eyJTYWxlc09yZGVyIjoiMiJ9"}`
	evs, err := cloudevent.ReadHTTP(headers("Content-Type", cloudevent.Structured), []byte(body))
	if err == nil {
		t.Fatalf("accepted an event with both data and data_base64; it names %s", evs[0].Data)
	}
}
