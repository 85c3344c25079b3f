package cloudevent_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/d365sap/d365sap/shared/cloudevent"
	"github.com/d365sap/d365sap/shared/problem"
)

// FuzzReadHTTP: whatever the body and mode, the reader either refuses with a 400 or 415 problem or gives events
// that carry what the consumers rely on and survive the trip through the queue unchanged.
func FuzzReadHTTP(f *testing.F) {
	f.Add("application/cloudevents+json", "", changed)
	f.Add("application/json", "", changed)
	f.Add("application/json", "1.0", `{"SalesOrder":"164"}`)
	f.Add("application/cloudevents-batch+json", "", "["+changed+"]")
	f.Add("application/cloudevents+json", "", `{"specversion":"1.0","id":"1","source":"/s","type":"t","data_base64":"e30="}`)
	f.Add("application/json", "1.0", `[]`)
	f.Fuzz(func(t *testing.T, contentType, specVersion, body string) {
		h := http.Header{"Content-Type": {contentType}}
		if specVersion != "" {
			h.Set("Ce-Specversion", specVersion)
			h.Set("Ce-Id", "i")
			h.Set("Ce-Source", "/s")
			h.Set("Ce-Type", "t")
		}
		evs, err := cloudevent.ReadHTTP(h, []byte(body))
		if err != nil {
			if k := problem.KindOf(err); k != problem.Invalid && k != problem.UnsupportedMediaType {
				t.Fatalf("refused as %v: %v", k, err)
			}
			return
		}
		for _, e := range evs {
			checkEvent(t, e)
		}
	})
}

// FuzzReadQueue: a queue message is read or refused as invalid, never anything else.
func FuzzReadQueue(f *testing.F) {
	f.Add(changed)
	f.Add("eyJzcGVjdmVyc2lvbiI6IjEuMCJ9")
	f.Add("")
	f.Fuzz(func(t *testing.T, body string) {
		e, err := cloudevent.ReadQueue([]byte(body))
		if err != nil {
			if problem.KindOf(err) != problem.Invalid {
				t.Fatalf("refused as %v: %v", problem.KindOf(err), err)
			}
			return
		}
		checkEvent(t, e)
	})
}

func checkEvent(t *testing.T, e cloudevent.Event) {
	t.Helper()
	if e.ID == "" || e.Source == "" || e.Type == "" || e.SpecVersion != "1.0" {
		t.Fatalf("read an event without its required attributes: %+v", e)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(e.Data, &obj); err != nil {
		t.Fatalf("data %q is not an object: %v", e.Data, err)
	}
	b, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := cloudevent.ReadQueue(b)
	if err != nil {
		t.Fatalf("the queue form %s is not read back: %v", b, err)
	}
	if back.ID != e.ID || back.Source != e.Source || back.Type != e.Type || string(back.Data) != string(e.Data) || !back.Time.Equal(e.Time) {
		t.Fatalf("round trip changed the event: %+v, want %+v", back, e)
	}
}
