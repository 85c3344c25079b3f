package funchost

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// SettingRequestBodyLimit is the host's limit on an HTTP request body, in bytes (EnvironmentSettingNames.
// FunctionsRequestBodySizeLimit).
const SettingRequestBodyLimit = "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT"

// DefaultRequestBodyLimit is the host's Kestrel limit when the setting is absent or does not parse:
// ScriptConstants.DefaultMaxRequestBodySize, 100 MiB.
const DefaultRequestBodyLimit int64 = 104857600

// requestBodyLimit reads the setting as HttpRequestBodySizeMiddleware does (long.TryParse, else the default). A
// negative value, which Kestrel's feature refuses, keeps the default too. The error only explains a fallback.
func requestBodyLimit(settings map[string]string) (int64, error) {
	v := strings.TrimSpace(settings[SettingRequestBodyLimit])
	if v == "" {
		return DefaultRequestBodyLimit, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return DefaultRequestBodyLimit, fmt.Errorf("%s=%q is not a number of bytes; the host keeps its %d",
			SettingRequestBodyLimit, v, DefaultRequestBodyLimit)
	}
	return n, nil
}

// admitBody applies the body limit before anything is invoked, and answers 413 itself when the body is over it:
// at once when Content-Length says so, or after counting a chunked body in small reads. Kestrel answers the
// limit's BadHttpRequestException with an empty 413 and closes the connection; so does this.
//
// A chunked body within the limit is read and dropped: the host passes a body on only when Content-Length is
// positive (HttpRequestExtensions.GetRequestAsJObject and ToHttpRequestMessage), so the function never sees it.
// Kestrel would count it while draining after the function ran; counting it first is as strict and simpler.
func (h *Host) admitBody(w http.ResponseWriter, r *http.Request, fn string) bool {
	limit := h.bodyLimit
	if r.ContentLength >= 0 && r.ContentLength <= limit {
		return true
	}
	if r.ContentLength < 0 {
		n, err := io.CopyN(io.Discard, r.Body, limit+1)
		if n <= limit {
			if err != nil && !errors.Is(err, io.EOF) {
				w.WriteHeader(http.StatusBadRequest)
				return false
			}
			h.log.Warn("chunked request body dropped, as the host does: it passes on only bodies with a Content-Length",
				"function", fn, "bytes", n)
			return true
		}
	}
	h.log.Warn("request body too large", "function", fn, "limit_bytes", limit, "content_length", r.ContentLength)
	w.Header().Set("Connection", "close")
	w.WriteHeader(http.StatusRequestEntityTooLarge)
	return false
}

// bodyStream is a request body that goes into an invocation as it is read (Data.<binding>.Body). The host holds
// the whole body to build the invocation; the stand-in need not, so its memory does not grow with uploads.
type bodyStream struct {
	binding string
	r       io.Reader
	base64  bool // octet-stream and multipart travel as base64
	// err is why the body could not be read (it ended before its Content-Length); set by the invocation's writer.
	err error
}

// writeBodyJSON writes the body as one JSON string: base64, or the text as the host's StreamReader decodes it
// (UTF-8, a leading byte order mark dropped, invalid bytes as U+FFFD).
func writeBodyJSON(w io.Writer, r io.Reader, b64 bool) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	bw.WriteByte('"')
	if b64 {
		enc := base64.NewEncoder(base64.StdEncoding, bw)
		if _, err := io.Copy(enc, r); err != nil {
			return fmt.Errorf("reading the request body: %w", err)
		}
		enc.Close()
	} else if err := writeText(bw, r); err != nil {
		return err
	}
	bw.WriteByte('"')
	return bw.Flush()
}

func writeText(bw *bufio.Writer, r io.Reader) error {
	buf := make([]byte, 32<<10)
	carry, first := 0, true
	for {
		n, err := r.Read(buf[carry:])
		eof := errors.Is(err, io.EOF)
		if err != nil && !eof {
			return fmt.Errorf("reading the request body: %w", err)
		}
		data := buf[:carry+n]
		if first {
			if len(data) < 3 && !eof {
				carry = len(data) // not enough yet to tell a byte order mark
				continue
			}
			data, first = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), false
		}
		done := escapeText(bw, data, eof)
		carry = copy(buf, data[done:]) // an incomplete rune waits for the next read
		if eof {
			return nil
		}
	}
}

// escapeText writes p as the inside of a JSON string and returns how much of it was written: all of it, or, unless
// final, all but a rune cut off at the end.
func escapeText(bw *bufio.Writer, p []byte, final bool) int {
	const hex = "0123456789abcdef"
	for i := 0; i < len(p); {
		c := p[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				bw.WriteByte('\\')
				bw.WriteByte(c)
			case c == '\n':
				bw.WriteString(`\n`)
			case c == '\r':
				bw.WriteString(`\r`)
			case c == '\t':
				bw.WriteString(`\t`)
			case c < 0x20:
				bw.WriteString(`\u00`)
				bw.WriteByte(hex[c>>4])
				bw.WriteByte(hex[c&0xf])
			default:
				bw.WriteByte(c)
			}
			i++
			continue
		}
		if !final && !utf8.FullRune(p[i:]) {
			return i
		}
		r, size := utf8.DecodeRune(p[i:])
		if r == utf8.RuneError && size == 1 {
			bw.WriteString(`\ufffd`)
		} else {
			bw.Write(p[i : i+size])
		}
		i += size
	}
	return len(p)
}
