package classify

import (
	"unicode/utf8"

	"github.com/d365sap/d365sap/shared/sap"
)

// Message is one message of SAP's answer, as callers see it (422 answers, the push status).
type Message struct {
	Code     string `json:"code"`
	Message  string `json:"message"`
	Severity string `json:"severity,omitempty"`
	Target   string `json:"target,omitempty"`
}

// Bounds of what is kept of SAP's messages on a record or in an answer; the archive keeps them whole.
const (
	maxMessage  = 1000
	maxMessages = 20
)

// Messages lists an SAP error's messages, the main one first, each cut to maxMessage characters, at most
// maxMessages of them.
func Messages(se *sap.Error) []Message {
	msgs := []Message{{Code: se.Code, Message: cutText(se.Message, maxMessage), Severity: "error"}}
	for _, d := range se.Details {
		if len(msgs) == maxMessages {
			break
		}
		if d.Code == se.Code && d.Message == se.Message {
			continue
		}
		msgs = append(msgs, Message{Code: d.Code, Message: cutText(d.Message, maxMessage), Severity: d.Severity, Target: d.Target})
	}
	return msgs
}

func validationMessages(ve *sap.ValidationError) []Message {
	var msgs []Message
	for _, p := range ve.Problems {
		if len(msgs) == maxMessages {
			break
		}
		msgs = append(msgs, Message{Code: "VALIDATION", Message: cutText(p, maxMessage), Severity: "error"})
	}
	return msgs
}

// cutText keeps at most max characters of s, on a character boundary, marking a cut with "…".
func cutText(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	n := 0
	for i := range s {
		if n == max-1 {
			return s[:i] + "…"
		}
		n++
	}
	return s
}
