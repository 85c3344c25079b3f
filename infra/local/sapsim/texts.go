package sapsim

import (
	"fmt"
	"slices"
)

// Header texts of a sales order (A_SalesOrderText, SAPscript text object VBBK): one text per language and text ID,
// created in the deep insert through to_Text. Which text IDs exist is configured per system (the text procedure
// of the sales document type), so the simulator accepts only Options.TextIDs.

// DefaultTextIDs are the header text IDs a simulator accepts when Options.TextIDs is empty: two of SAP's standard
// sales header texts and a customer-defined one.
var DefaultTextIDs = []string{"0001", "0002", "Z001"}

// checkTexts validates the header texts of a create and returns them as stored rows (SalesOrder is set on commit).
// The message for a text ID outside the text procedure is the simulator's wording: SAP's own was not found.
func (s *Server) checkTexts(in record) ([]record, error) {
	rows, _ := in["to_Text"].([]record)
	out := make([]record, 0, len(rows))
	seen := map[[2]string]bool{}
	for n, r := range rows {
		lang, _ := r["Language"].(string)
		id, _ := r["LongTextID"].(string)
		text, _ := r["LongText"].(string)
		target := fmt.Sprintf("to_Text(%d)", n)
		switch {
		case lang == "":
			return nil, &businessError{code: "V1/382", msg: "Enter a value for Language", target: target + "/Language"}
		case id == "":
			return nil, &businessError{code: "V1/382", msg: "Enter a value for LongTextID", target: target + "/LongTextID"}
		case !slices.Contains(s.textIDs, id):
			return nil, &businessError{code: "TD/611", target: target + "/LongTextID",
				msg: fmt.Sprintf("Text ID %s is not allowed for text object VBBK (sales document header)", id)}
		case seen[[2]string{lang, id}]:
			return nil, &businessError{code: "TD/612", target: target,
				msg: fmt.Sprintf("Text %s exists twice in language %s", id, lang)}
		}
		seen[[2]string{lang, id}] = true
		out = append(out, record{"Language": lang, "LongTextID": id, "LongText": text})
	}
	return out, nil
}

// textsOf lists the header texts of the orders a read may see.
func textsOf(orders []record) []record {
	var texts []record
	for _, o := range orders {
		rows, _ := o["to_Text"].([]record)
		texts = append(texts, rows...)
	}
	return texts
}
