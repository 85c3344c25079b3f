package hostile

import "strings"

// inventoryQueueCases: hostile messages on INVENTORY_SYNC_QUEUE. Only a continuation ({"action":"continue"}) runs
// the sync; everything else is kept in the dead letters as invalid and acknowledged, never taken for a run, so
// none reaches SAP or Dataverse. (No case sends a real continuation: a sync run writes products by design.)
func inventoryQueueCases(w *world) []qcase {
	dl := func(name, body string) qcase {
		return qcase{name: name, body: []byte(body), want: deadLettered, kind: "invalid"}
	}
	return []qcase{
		dl("garbage", "garbage"),
		dl("empty object", "{}"),
		dl("null", "null"),
		dl("an array of continuations", `[{"action":"continue"}]`),
		dl("a JSON string", `"continue"`),
		dl("action in upper case", `{"action":"CONTINUE"}`),
		dl("action with a space", `{"action":"continue "}`),
		dl("action a number", `{"action":1}`),
		dl("an unknown member", `{"action":"continue","plant":"1010"}`),
		dl("a member meant to steer the run", `{"action":"continue","after":"x","since":"1970-01-01T00:00:00Z"}`),
		dl("an order push message", `{"salesorderid":"`+newID()+`","action":"push"}`),
		dl("two continuations in one", `{"action":"continue"}{"action":"continue"}`),
		dl("trailing garbage", `{"action":"continue"} x`),
		dl("a depth bomb", strings.Repeat("[", 40_000)),
		dl("invalid UTF-8", "\xff\xfe\x00\xc0\xaf"),
		dl("an escaped NUL action", `{"action":"\u0000"}`),
		dl("47 KB of garbage", strings.Repeat("x", 47<<10)),
		{name: "not base64", body: []byte("not base64 !!"), raw: true, want: poisoned},
		{name: "admin call: garbage", body: []byte("garbage"), admin: true, want: deadLettered, kind: "invalid"},
		{name: "admin call: another action", body: []byte(`{"action":"reset"}`), admin: true, want: deadLettered, kind: "invalid"},
	}
}
