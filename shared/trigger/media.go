package trigger

import (
	"mime"
	"strings"

	"github.com/d365sap/d365sap/shared/problem"
)

// CheckMediaType says whether a request with the given Content-Type may reach a function that reads the media
// types accepts (empty: the function reads no body, anything goes). Types match exactly, case-insensitively;
// parameters are allowed, and a charset must be UTF-8 (JSON is). A missing Content-Type is refused: a body
// whose type nobody stated is not read as JSON on a guess. The answer is a 415 problem naming what is accepted.
func CheckMediaType(accepts []string, contentType string) error {
	if len(accepts) == 0 {
		return nil
	}
	refuse := func(reason string) error {
		return &problem.Error{Kind: problem.UnsupportedMediaType,
			Detail: reason + "; send one of: " + strings.Join(accepts, ", "),
			Fields: []problem.FieldError{{Field: "Content-Type", Reason: reason}}}
	}
	if strings.TrimSpace(contentType) == "" {
		return refuse("the request has no Content-Type")
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return refuse("the Content-Type is not a media type")
	}
	for _, a := range accepts {
		if !strings.EqualFold(mt, a) {
			continue
		}
		for k, v := range params {
			if strings.EqualFold(k, "charset") && !strings.EqualFold(v, "utf-8") {
				return refuse("charset " + cut(v) + " is not UTF-8")
			}
		}
		return nil
	}
	return refuse(cut(mt) + " is not accepted")
}

func cut(s string) string {
	if r := []rune(s); len(r) > 64 {
		return string(r[:64]) + "…"
	}
	return s
}
