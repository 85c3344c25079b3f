package sapsim

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// metadata serves SAP's EDMX from Options.EDMXDir when present, else a minimal EDMX from the simulator's tables;
// either way A_SalesOrderType lists the configured extension fields, as a live system's does.
func (h *handler) metadata(w http.ResponseWriter) {
	if dir := h.s.opts.EDMXDir; dir != "" {
		if data, err := os.ReadFile(filepath.Join(dir, h.service+".edmx")); err == nil {
			if h.service == etASalesOrderType.Service {
				data = injectExtensions(data, h.s.extFields)
			}
			w.Header().Set("Content-Type", "application/xml")
			_, _ = w.Write(data)
			return
		}
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><edmx:Edmx Version="1.0" xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx" xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata" xmlns:sap="http://www.sap.com/Protocols/SAPData"><edmx:DataServices m:DataServiceVersion="2.0">`)
	fmt.Fprintf(&b, `<Schema Namespace="%s" xml:lang="en" xmlns="http://schemas.microsoft.com/ado/2008/09/edm">`, h.service)
	var sets []*entityType
	for _, et := range generatedTypes {
		et = h.s.typeFor(et)
		if et.Service != h.service {
			continue
		}
		kind := "EntityType"
		if et.Set == "" {
			kind = "ComplexType"
		} else {
			sets = append(sets, et)
		}
		fmt.Fprintf(&b, `<%s Name="%s">`, kind, et.Name)
		if len(et.Keys) > 0 {
			b.WriteString("<Key>")
			for _, k := range et.Keys {
				fmt.Fprintf(&b, `<PropertyRef Name="%s"/>`, k)
			}
			b.WriteString("</Key>")
		}
		for _, p := range et.Props {
			fmt.Fprintf(&b, `<Property Name="%s" Type="%s"`, p.Name, p.Type)
			if p.MaxLen > 0 {
				fmt.Fprintf(&b, ` MaxLength="%d"`, p.MaxLen)
			}
			if p.Type == edmDecimal {
				fmt.Fprintf(&b, ` Precision="%d" Scale="%d"`, p.Precision, p.Scale)
			}
			if p.Flags&notNull != 0 {
				b.WriteString(` Nullable="false"`)
			}
			if p.Name == et.ETagProp {
				b.WriteString(` ConcurrencyMode="Fixed"`)
			}
			// SAP's annotations of what a client may do with the property, written only where they say "no".
			for _, a := range []struct {
				flag propFlag
				attr string
			}{{noCreate, "creatable"}, {noUpdate, "updatable"}, {noFilter, "filterable"}} {
				if p.Flags&a.flag != 0 {
					fmt.Fprintf(&b, ` sap:%s="false"`, a.attr)
				}
			}
			b.WriteString("/>")
		}
		fmt.Fprintf(&b, `</%s>`, kind)
	}
	fmt.Fprintf(&b, `<EntityContainer Name="%s_Entities" m:IsDefaultEntityContainer="true">`, h.service)
	for _, et := range sets {
		fmt.Fprintf(&b, `<EntitySet Name="%s" EntityType="%s.%s"/>`, et.Set, h.service, et.Name)
	}
	b.WriteString(`</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>`)
	w.Header().Set("Content-Type", "application/xml")
	_, _ = io.WriteString(w, b.String())
}
