package sapsim

import (
	"strconv"
	"testing"

	"github.com/d365sap/d365sap/infra/local/sapsim/sapkit"
)

// TestSchemaMatchesEDMX checks every table entry (property, type, MaxLength, Precision, Scale, keys, concurrency,
// navigation properties) against SAP's EDMX in the kit.
func TestSchemaMatchesEDMX(t *testing.T) {
	kit := sapkit.Dir(t)
	docs := map[string]map[string]sapkit.EntityType{}
	for _, et := range generatedTypes {
		t.Run(et.Name, func(t *testing.T) {
			if docs[et.Service] == nil {
				docs[et.Service] = sapkit.LoadEDMX(t, kit, et.Service)
			}
			want, ok := docs[et.Service][et.Name]
			if !ok {
				t.Fatalf("%s is not in the EDMX of %s", et.Name, et.Service)
			}
			if len(want.Props) != len(et.Props) {
				t.Errorf("%d properties in the table, %d in the EDMX", len(et.Props), len(want.Props))
			}
			var keys []string
			for _, k := range want.Keys {
				keys = append(keys, k.Name)
			}
			if len(keys) != len(et.Keys) {
				t.Errorf("keys %v, EDMX %v", et.Keys, keys)
			}
			for i := range min(len(keys), len(et.Keys)) {
				if keys[i] != et.Keys[i] {
					t.Errorf("key %d is %s, EDMX %s", i, et.Keys[i], keys[i])
				}
			}
			atoi := func(s string) int { n, _ := strconv.Atoi(s); return n }
			etag := ""
			for i, wp := range want.Props {
				if wp.ConcurrencyMode == "Fixed" {
					etag = wp.Name
				}
				if i >= len(et.Props) {
					break
				}
				p := et.Props[i]
				if p.Name != wp.Name || p.Type.String() != wp.Type || p.MaxLen != atoi(wp.MaxLength) ||
					p.Precision != atoi(wp.Precision) || p.Scale != atoi(wp.Scale) || (p.Flags&notNull != 0) != (wp.Nullable == "false") {
					t.Errorf("property %d: table %+v, EDMX %+v", i, p, wp)
				}
			}
			// The simulator adds an ETag to A_BusinessPartner on purpose (see init in handler.go).
			if etag != et.ETagProp && et.Name != "A_BusinessPartnerType" {
				t.Errorf("ETag property %q, EDMX %q", et.ETagProp, etag)
			}
			navs := map[string]bool{}
			for _, n := range want.Navs {
				navs[n.Name] = true
			}
			if len(navs) != len(et.Navs) {
				t.Errorf("%d navigation properties in the table, %d in the EDMX", len(et.Navs), len(navs))
			}
			for _, n := range et.Navs {
				if !navs[n.Name] {
					t.Errorf("navigation property %s is not in the EDMX", n.Name)
				}
				if n.Target != "" && typesByName[n.Target] == nil {
					t.Errorf("navigation %s targets unknown type %s", n.Name, n.Target)
				}
			}
		})
	}
}
