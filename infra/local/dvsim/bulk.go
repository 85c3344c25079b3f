package dvsim

import (
	"fmt"
	"strings"
)

// bulk serves CreateMultiple, UpdateMultiple and UpsertMultiple: all targets succeed or none does.
func (s *Server) bulk(x *tx, td *tableData, msg string, req *apiRequest) *response {
	if msg != "CreateMultiple" && msg != "UpdateMultiple" && msg != "UpsertMultiple" {
		return errorResponse(errf(404, "0x80060888", "Resource not found for the segment 'Microsoft.Dynamics.CRM.%s'.", msg))
	}
	if !td.def.Bulk {
		return errorResponse(errf(400, "0x80040265", "The '%s' method does not support entities of type '%s'.", msg, td.def.Entity))
	}
	body, err := decodeBody(req.body)
	if err != nil {
		return errorResponse(err)
	}
	targets, _ := body["Targets"].([]any)
	if len(targets) == 0 || len(targets) > s.opts.MaxBulk {
		return errorResponse(errf(400, codeInvalidArgument, "Targets must hold between 1 and %d records.", s.opts.MaxBulk))
	}
	ids := make([]string, 0, len(targets))
	for i, t := range targets {
		rec, ok := t.(map[string]any)
		if !ok {
			return errorResponse(errf(400, codeInvalidArgument, "Target %d is not an object.", i))
		}
		if _, ok := rec["@odata.type"]; !ok {
			return errorResponse(errf(400, codeInvalidArgument, "Target %d has no @odata.type.", i))
		}
		var r *row
		var aerr *apiError
		switch msg {
		case "CreateMultiple":
			r, _, aerr = s.create(x, td, rec, nil)
		default:
			k, kerr := bulkKey(td, rec)
			if kerr != nil {
				aerr = kerr
				break
			}
			cond := condNone
			if msg == "UpdateMultiple" {
				cond = condUpdateOnly
			}
			r, _, aerr = s.upsert(x, td, k, cond, "", rec, nil)
		}
		if aerr != nil {
			aerr.Message = fmt.Sprintf("%s (target %d)", aerr.Message, i)
			return errorResponse(aerr)
		}
		ids = append(ids, r.id)
	}
	if msg == "UpdateMultiple" {
		resp := newResponse(204)
		resp.ops = len(targets)
		return resp
	}
	resp := jsonResponse(200, map[string]any{"@odata.context": s.base() + apiPrefix + "$metadata#Microsoft.Dynamics.CRM." + msg + "Response", "Ids": ids})
	resp.ops = len(targets)
	return resp
}

// bulkKey finds the row a bulk target names: @odata.id, the primary key, or alternate key columns.
func bulkKey(td *tableData, rec map[string]any) (keySpec, *apiError) {
	if oid, ok := rec["@odata.id"].(string); ok {
		if i := strings.Index(oid, apiPrefix); i >= 0 {
			oid = oid[i+len(apiPrefix):]
		}
		oid = strings.TrimPrefix(oid, "/")
		open := strings.Index(oid, "(")
		if open < 0 || oid[:open] != td.def.Set || !strings.HasSuffix(oid, ")") {
			return keySpec{}, errf(400, codeInvalidArgument, "Bad @odata.id %q.", oid)
		}
		return parseKey(oid[open+1 : len(oid)-1])
	}
	if id, ok := rec[td.def.Key].(string); ok && isGUID(id) {
		return keySpec{id: strings.ToLower(id)}, nil
	}
	for _, cols := range td.def.AltKeys {
		k := keySpec{alt: map[string]any{}}
		for _, c := range cols {
			if v, ok := rec[c]; ok && v != nil {
				k.alt[c] = v
			}
		}
		if len(k.alt) == len(cols) {
			return k, nil
		}
	}
	return keySpec{}, errf(400, codeInvalidArgument, "A target has neither a primary key nor an alternate key.")
}
