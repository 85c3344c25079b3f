package dvsim

import (
	"fmt"
	"strings"
)

// bulk serves CreateMultiple, UpdateMultiple and UpsertMultiple: all targets succeed or none does (standard tables).
// CreateMultiple answers 200 with the new ids; UpdateMultiple and UpsertMultiple answer 204 with no body (the
// UpsertMultiple action reference: "The UpsertMultipleResponse complex type is not returned").
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
		r, aerr := s.bulkTarget(x, td, msg, rec)
		if aerr != nil {
			if aerr.Code != codeUnexpected {
				aerr.Message = fmt.Sprintf("%s (target %d)", aerr.Message, i)
			}
			return errorResponse(aerr)
		}
		ids = append(ids, r.id)
	}
	if msg != "CreateMultiple" {
		resp := newResponse(204)
		resp.ops = len(targets)
		return resp
	}
	resp := jsonResponse(200, map[string]any{"@odata.context": s.base() + apiPrefix + "$metadata#Microsoft.Dynamics.CRM." + msg + "Response", "Ids": ids})
	resp.ops = len(targets)
	return resp
}

// bulkTarget writes one target of a bulk message inside x.
func (s *Server) bulkTarget(x *tx, td *tableData, msg string, rec map[string]any) (*row, *apiError) {
	if msg == "CreateMultiple" {
		r, _, err := s.create(x, td, rec, nil)
		return r, err
	}
	k, named, err := bulkKey(td, rec)
	if err != nil {
		return nil, err
	}
	if !named {
		if msg == "UpdateMultiple" {
			return nil, errf(400, codeInvalidArgument, "A target has neither @odata.id nor the primary key %s.", td.def.Key)
		}
		// A target that names no row is created, as an upsert without a key is.
		r, _, err := s.create(x, td, rec, nil)
		return r, err
	}
	if msg == "UpsertMultiple" && len(k.alt) > 0 {
		// Dataverse refuses a target that repeats its alternate-key columns in the body when the row does not exist
		// yet (the create path), with this generic answer; the update path tolerates it. Seen by
		// microsoft/PowerPlatform-DataverseClient-Python#127.
		id, ferr := td.find(k)
		if ferr != nil {
			return nil, ferr
		}
		for col := range k.alt {
			if _, repeated := rec[col]; repeated && id == "" {
				return nil, errf(400, codeUnexpected, "An unexpected error occurred.")
			}
		}
	}
	cond := condNone
	if msg == "UpdateMultiple" {
		cond = condUpdateOnly
	}
	r, _, err := s.upsert(x, td, k, cond, "", rec, nil)
	return r, err
}

// bulkKey finds the row a bulk target names: @odata.id (by primary or alternate key) or the primary key column.
// Alternate-key columns in the body do not name a row: over the Web API only @odata.id carries an alternate key.
func bulkKey(td *tableData, rec map[string]any) (keySpec, bool, *apiError) {
	if oid, ok := rec["@odata.id"].(string); ok {
		if i := strings.Index(oid, apiPrefix); i >= 0 {
			oid = oid[i+len(apiPrefix):]
		}
		oid = strings.TrimPrefix(oid, "/")
		open := strings.Index(oid, "(")
		if open < 0 || oid[:open] != td.def.Set || !strings.HasSuffix(oid, ")") {
			return keySpec{}, false, errf(400, codeInvalidArgument, "Bad @odata.id %q.", oid)
		}
		k, err := parseKey(oid[open+1 : len(oid)-1])
		return k, err == nil, err
	}
	if id, ok := rec[td.def.Key].(string); ok && isGUID(id) {
		return keySpec{id: strings.ToLower(id)}, true, nil
	}
	return keySpec{}, false, nil
}
