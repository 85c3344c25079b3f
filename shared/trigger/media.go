package trigger

import (
	"mime"
	"net/http"
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

// CheckBody is CheckMediaType for a request's headers, as every adapter and function checks them: the one
// Content-Type (given twice it is no media type, as the host itself joins the two), and no content coding, since
// no function decodes gzip or br and the host passes the body on as it came. identity is no coding.
func CheckBody(accepts []string, h http.Header) error {
	if len(accepts) == 0 {
		return nil
	}
	if err := CheckMediaType(accepts, strings.Join(h.Values("Content-Type"), ", ")); err != nil {
		return err
	}
	for _, v := range h.Values("Content-Encoding") {
		for _, c := range strings.Split(v, ",") {
			if c = strings.TrimSpace(c); c != "" && !strings.EqualFold(c, "identity") {
				return &problem.Error{Kind: problem.UnsupportedMediaType,
					Detail: "the body is sent in content coding " + cut(c) + ", which is not read; send it uncompressed",
					Fields: []problem.FieldError{{Field: "Content-Encoding", Reason: cut(c) + " is not accepted"}}}
			}
		}
	}
	return nil
}

func cut(s string) string {
	if r := []rune(s); len(r) > 64 {
		return string(r[:64]) + "…"
	}
	return s
}
