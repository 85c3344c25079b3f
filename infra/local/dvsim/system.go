package dvsim

import (
	"crypto/sha1"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// The system tables the simulator answers from its own definitions: sdkmessagefilters (which messages a table
// supports, the check Microsoft's bulk-operations page gives before using CreateMultiple/UpdateMultiple/
// UpsertMultiple) and organizations (the settings that change how the API behaves). Both are read-only.

// orgID is the organization's id, as WhoAmI reports it.
const orgID = "00000000-0000-0000-0000-0000000000c1"

// sdkMessages lists the messages whose sdkmessagefilter rows name the table.
func sdkMessages(t *Table) []string {
	msgs := []string{"Create", "Delete", "Retrieve", "RetrieveMultiple", "Update", "Upsert"}
	if _, ok := t.column("statecode"); ok {
		msgs = append(msgs, "SetState")
	}
	if t.Bulk {
		msgs = append(msgs, "CreateMultiple", "UpdateMultiple", "UpsertMultiple")
	}
	return msgs
}

// nameGUID makes a stable id from a name, so the same filter row has the same id in every run.
func nameGUID(name string) string {
	h := sha1.Sum([]byte(name))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// systemRead answers GET on a system table, or reports that the set is not one.
func (s *Server) systemRead(name, keyText string, hasKey bool, req *apiRequest) (*response, bool) {
	if req.method != http.MethodGet {
		return nil, false
	}
	switch name {
	case "sdkmessagefilters":
		if hasKey {
			return errorResponse(errf(400, codeInvalidArgument, "Retrieving one sdkmessagefilter is not simulated; query the set.")), true
		}
		return s.messageFilters(req), true
	case "organizations":
		if hasKey && strings.TrimSuffix(keyText, ")") != orgID {
			return errorResponse(errf(404, codeNotFound, "organization With Id = %s Does Not Exist", strings.TrimSuffix(keyText, ")"))), true
		}
		return s.organizations(req, hasKey), true
	}
	return nil, false
}

// messageFilters answers sdkmessagefilters?$select=...&$filter=<conditions joined by "and">, the conditions being
// primaryobjecttypecode eq '<table>' and sdkmessageid/name eq '<message>', with literals or @parameter aliases
// (the form Microsoft's page uses). Any other query shape is refused loudly rather than answered wrongly.
func (s *Server) messageFilters(req *apiRequest) *response {
	cols := []string{"sdkmessagefilterid", "primaryobjecttypecode", "_sdkmessageid_value"}
	sel, err := selectSystem(req, "sdkmessagefilter", cols)
	if err != nil {
		return errorResponse(err)
	}
	want := map[string]string{}
	if f := req.query.Get("$filter"); f != "" {
		if want, err = filterConditions(f, req, []string{"primaryobjecttypecode", "sdkmessageid/name"}); err != nil {
			return errorResponse(err)
		}
	}
	for k := range req.query {
		if strings.HasPrefix(k, "$") && k != "$select" && k != "$filter" {
			return errorResponse(errf(400, codeInvalidArgument, "The query option %s is not simulated on sdkmessagefilters.", k))
		}
	}
	var entities []string
	for e := range s.store.byEntity {
		entities = append(entities, e)
	}
	sort.Strings(entities)
	items := []map[string]any{}
	for _, e := range entities {
		if v, ok := want["primaryobjecttypecode"]; ok && !strings.EqualFold(v, e) {
			continue
		}
		for _, m := range sdkMessages(s.store.byEntity[e].def) {
			if v, ok := want["sdkmessageid/name"]; ok && !strings.EqualFold(v, m) {
				continue
			}
			row := map[string]any{"@odata.etag": `W/"1000"`, "sdkmessagefilterid": nameGUID("sdkmessagefilter/" + e + "/" + m),
				"primaryobjecttypecode": e, "_sdkmessageid_value": nameGUID("sdkmessage/" + m)}
			items = append(items, pick(row, sel))
		}
	}
	return s.systemList("sdkmessagefilters", req, items)
}

// organizations answers the organization row with the settings the simulator models.
func (s *Server) organizations(req *apiRequest, single bool) *response {
	cols := []string{"organizationid", "name", "createproductswithoutparentinactivestate", "pricingdecimalprecision"}
	sel, err := selectSystem(req, "organization", cols)
	if err != nil {
		return errorResponse(err)
	}
	row := pick(map[string]any{"@odata.etag": `W/"1000"`, "organizationid": orgID, "name": "dvsim",
		"createproductswithoutparentinactivestate": s.opts.CreateProductsWithoutParentInActiveState,
		"pricingdecimalprecision":                  s.opts.PricingDecimalPrecision}, sel)
	if single {
		row["@odata.context"] = s.base() + apiPrefix + "$metadata#organizations/$entity"
		resp := jsonResponse(200, row)
		resp.reads = 1
		return resp
	}
	return s.systemList("organizations", req, []map[string]any{row})
}

func (s *Server) systemList(set string, req *apiRequest, items []map[string]any) *response {
	ctx := s.base() + apiPrefix + "$metadata#" + set
	if sel := req.query.Get("$select"); sel != "" {
		ctx += "(" + strings.ReplaceAll(sel, " ", "") + ")"
	}
	resp := jsonResponse(200, map[string]any{"@odata.context": ctx, "value": items})
	resp.reads = 1
	return resp
}

// selectSystem reads $select against a system table's columns (all of them when absent).
func selectSystem(req *apiRequest, entity string, cols []string) ([]string, *apiError) {
	sel := req.query.Get("$select")
	if sel == "" {
		return cols, nil
	}
	var out []string
	for _, c := range strings.Split(sel, ",") {
		c = strings.TrimSpace(c)
		found := false
		for _, k := range cols {
			found = found || k == c
		}
		if !found {
			return nil, errf(400, codeBadProperty, "Could not find a property named '%s' on type 'Microsoft.Dynamics.CRM.%s'.", c, entity)
		}
		out = append(out, c)
	}
	return out, nil
}

func pick(row map[string]any, cols []string) map[string]any {
	out := map[string]any{"@odata.etag": row["@odata.etag"]}
	for _, c := range cols {
		out[c] = row[c]
	}
	return out
}

// filterConditions parses "<prop> eq <literal or @alias>" conditions joined by "and" into prop -> value.
func filterConditions(src string, req *apiRequest, props []string) (map[string]string, *apiError) {
	bad := func(format string, args ...any) *apiError {
		return errf(400, codeInvalidArgument, "The $filter %q is not simulated: %s (supported: %s eq <value>, joined by and).",
			src, fmt.Sprintf(format, args...), strings.Join(props, " eq <value>, "))
	}
	out := map[string]string{}
	l := &lexer{src: src}
	for {
		prop := l.ident()
		known := false
		for _, p := range props {
			known = known || p == prop
		}
		if !known {
			return nil, bad("unknown property %q", prop)
		}
		if !l.eatWord("eq") {
			return nil, bad("only eq is supported after %s", prop)
		}
		var lit any
		var err error
		l.skip()
		if l.pos < len(l.src) && l.src[l.pos] == '@' {
			l.pos++
			alias := l.ident()
			raw, ok := req.query["@"+alias]
			if !ok || len(raw) == 0 {
				return nil, bad("the parameter alias @%s has no value", alias)
			}
			lit, err = (&lexer{src: raw[0]}).literal()
		} else {
			lit, err = l.literal()
		}
		if err != nil {
			return nil, bad("%v", err)
		}
		switch v := lit.(type) {
		case string:
			out[prop] = v
		default:
			out[prop] = fmt.Sprint(v)
			if _, nerr := strconv.Atoi(out[prop]); nerr == nil && prop == "primaryobjecttypecode" {
				return nil, bad("object type codes are not simulated; use the logical name")
			}
		}
		if l.done() {
			return out, nil
		}
		if !l.eatWord("and") {
			return nil, bad("unexpected %q", l.src[l.pos:])
		}
	}
}
