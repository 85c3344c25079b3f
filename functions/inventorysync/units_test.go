package inventorysync

import (
	"fmt"
	"log/slog"
	"maps"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/d365sap/d365sap/shared/store"
)

func TestQuantityTextRoundsDownAndNeverBelowZero(t *testing.T) {
	for _, c := range []struct {
		sum      string
		prec     int
		want     string
		adjusted bool
	}{
		{"12.345", 2, "12.34", true},
		{"12.349", 2, "12.34", true},
		{"12.3", 2, "12.30", false},
		{"0", 2, "0.00", false},
		{"-4.5", 2, "0.00", true},
		{"7.99999", 0, "7", true},
		{"1000000000", 2, "1000000000.00", false},
	} {
		r, _ := new(big.Rat).SetString(c.sum)
		got, adj := quantityText(r, c.prec)
		if got != c.want || adj != c.adjusted {
			t.Errorf("quantityText(%s, %d) = %s, %v; want %s, %v", c.sum, c.prec, got, adj, c.want, c.adjusted)
		}
	}
}

func TestRowKeysEscapeWhatTablesRefuseAndReadBack(t *testing.T) {
	for _, m := range []string{"SIM0000001", "A/B", `C\D`, "E#F?G", "100%", "ÄÖÜ-1", "x%2Fy"} {
		k := rowKey(m)
		if strings.ContainsAny(k, `/\#?`) {
			t.Errorf("rowKey(%q) = %q holds a refused character", m, k)
		}
		if back := materialOf(k); back != m {
			t.Errorf("materialOf(rowKey(%q)) = %q", m, back)
		}
	}
	if rowKey("SIM0000001") != "SIM0000001" {
		t.Error("a plain material number must stay as it is, so keys sort as SAP sorts")
	}
}

// The stock and price streams read fingerprints by ranges of materials: keys must sort as the materials do,
// whatever characters they hold, and no key may be a prefix of another's unless the material is.
func TestRowKeysSortAsMaterialsDo(t *testing.T) {
	ms := []string{"", "A", "A\x00", "A\x01", "A\x1f", "A 1", "A!1", "A\"1", "A#1", "A$1", "A%1", "A&1", "A-1", "A.1", "A/1",
		"A01", "A=1", "A>1", "A?1", "A@1", "A[1", "A\\1", "A]1", "A}1", "A~1", "A\x7f1", "A\u00801", "A\u009f1", "A\u00a01",
		"AÄ1F", "A\u00851F", "AB", "Z", "ÿ"}
	for _, a := range ms {
		if back := materialOf(rowKey(a)); back != a {
			t.Errorf("materialOf(rowKey(%q)) = %q", a, back)
		}
		for _, b := range ms {
			if (a < b) != (rowKey(a) < rowKey(b)) {
				t.Errorf("%q < %q is %v, but their keys %q, %q say %v", a, b, a < b, rowKey(a), rowKey(b), rowKey(a) < rowKey(b))
			}
		}
		for _, c := range rowKey(a) {
			if c < 0x20 || c == 0x7f || c >= 0x80 && c <= 0x9f || strings.ContainsRune(`/\#?`, c) {
				t.Errorf("rowKey(%q) = %q holds %q, which the Table service refuses", a, rowKey(a), c)
			}
		}
	}
}

// Fingerprints kept under the older key format (%XX escapes, "." written as it is) decode to other materials
// ("MAT.10" reads as "MAT\x10", "A%231" as itself): a range read takes none of them for a material, or the
// stock stream would zero that product as one SAP no longer has stock of.
func TestFingerprintsUnderAnOlderKeyFormatAreNotRead(t *testing.T) {
	tbl := store.NewMemTable[Fingerprint]("t")
	for _, k := range []string{"MAT.10", "A%231", "A.1", rowKey("MAT.10")} {
		// Each in the shard its decoded material would have, where a range read looks.
		if _, err := tbl.Upsert(t.Context(), store.Row[Fingerprint]{PartitionKey: partitionOf(materialOf(k)), RowKey: k,
			Value: Fingerprint{ID: "00000000-0000-0000-0000-000000000001", Stock: "5.00"}}); err != nil {
			t.Fatal(err)
		}
	}
	fps, err := fingerprintsBetween(t.Context(), tbl, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(fps) != 1 || fps["MAT.10"].RowKey != rowKey("MAT.10") {
		t.Errorf("read %v, want only MAT.10 under its current key", slices.Collect(maps.Keys(fps)))
	}
}

func TestMappingProblemsAreAllNamed(t *testing.T) {
	for _, c := range []struct{ name, doc, want string }{
		{"no stream", `{"language":"EN"}`, "names no stream"},
		{"bad language", `{"language":"ENG","products":{"unitGroup":"U","quantityDecimal":2}}`, "language"},
		{"unknown field", `{"language":"EN","product":{}}`, "unknown field"},
		{"stock without products", `{"language":"EN","stock":{"locations":[{"plant":"1010"}],"quantityPrecision":2}}`, "stock needs products"},
		{"plant twice", `{"language":"EN","products":{"unitGroup":"U","quantityDecimal":2},"stock":{"locations":[{"plant":"1010"},{"plant":"1010"}],"quantityPrecision":2}}`, "named twice"},
		{"plant too long", `{"language":"EN","products":{"unitGroup":"U","quantityDecimal":2},"stock":{"locations":[{"plant":"10100"}],"quantityPrecision":2}}`, "1-4 characters"},
		{"quantity decimals", `{"language":"EN","products":{"unitGroup":"U","quantityDecimal":6}}`, "0 to 5"},
		{"unit group spaces", `{"language":"EN","products":{"unitGroup":" U","quantityDecimal":2}}`, "surrounding spaces"},
		{"two documents", `{"language":"EN","products":{"unitGroup":"U","quantityDecimal":2}} {}`, "more than one"},
	} {
		_, err := ParseMapping([]byte(c.doc))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error naming %q", c.name, err, c.want)
		}
	}
	if _, err := LoadMapping(""); err != nil {
		t.Errorf("the shipped mapping: %v", err)
	}
}

func FuzzParseMapping(f *testing.F) {
	f.Add(defaultMapping)
	f.Add([]byte(`{"language":"EN","products":{"unitGroup":"U","quantityDecimal":2},"stock":{"locations":[{"plant":"1010","storageLocations":["101A"]}],"quantityPrecision":3}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMapping(b)
		if err != nil {
			return
		}
		if m.Products == nil && m.Stock == nil {
			t.Fatal("a mapping with no stream was accepted")
		}
		if m.Stock != nil {
			for _, l := range m.Stock.Locations {
				if l.Plant == "" {
					t.Fatal("an empty plant was accepted")
				}
			}
		}
	})
}

// A long stream logs where it is, how fast and when it will end.
func TestProgressLogsRateAndETA(t *testing.T) {
	var logged strings.Builder
	clock := time.Unix(0, 0)
	r := &run{Syncer: &Syncer{Log: slog.New(slog.NewJSONHandler(&logged, nil)), Now: func() time.Time { return clock }}, id: "r1"}
	st := &StreamStats{}
	p := r.progress("stock", st, func() (int64, bool) { return 10_240, true })
	for range 2048 {
		st.Read++
		clock = clock.Add(10 * time.Millisecond) // 100 rows a second
		p.tick()
	}
	out := logged.String()
	if !strings.Contains(out, `"msg":"inventory sync progress"`) || !strings.Contains(out, `"rowsPerSecond":100`) ||
		!strings.Contains(out, `"of":10240`) || !strings.Contains(out, `"eta":"1m22s"`) {
		t.Fatalf("progress lines: %s", out)
	}
	if n := strings.Count(out, "\n"); n < 3 || n > 5 {
		t.Errorf("%d progress lines over 20 s, want one every 5 s", n)
	}
}

// The shards spread materials evenly enough that none holds more than twice its share, and a material's
// fingerprint is read back from its own shard only: a row put in another shard is not this material's.
func TestFingerprintShardsSpreadAndAreReadWhereWritten(t *testing.T) {
	counts := map[string]int{}
	for i := range 16_000 {
		counts[partitionOf(fmt.Sprintf("SIM%07d", i+1))]++
	}
	if len(counts) != fingerprintShards {
		t.Fatalf("%d shards used, want %d", len(counts), fingerprintShards)
	}
	for p, n := range counts {
		if n > 2*16_000/fingerprintShards {
			t.Errorf("shard %s holds %d of 16,000", p, n)
		}
	}
	tbl := store.NewMemTable[Fingerprint]("t")
	if err := saveFingerprints(t.Context(), tbl, map[string]Fingerprint{"M1": {ID: "a"}, "M2": {ID: "b"}}); err != nil {
		t.Fatal(err)
	}
	wrong := partitionOf("M1") + "x"
	if _, err := tbl.Upsert(t.Context(), store.Row[Fingerprint]{PartitionKey: wrong, RowKey: "M3", Value: Fingerprint{ID: "c"}}); err != nil {
		t.Fatal(err)
	}
	got, err := fingerprintsBetween(t.Context(), tbl, "", "")
	if err != nil || len(got) != 2 || got["M1"].Value.ID != "a" || got["M2"].Value.ID != "b" {
		t.Fatalf("read %v (%v)", got, err)
	}
	one, err := fingerprintsOf(t.Context(), tbl, []string{"M2", "M9"})
	if err != nil || len(one) != 1 || one["M2"].Value.ID != "b" {
		t.Fatalf("by key: %v (%v)", one, err)
	}
}
