package funchost

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// The host reads FUNCTIONS_REQUEST_BODY_SIZE_LIMIT with long.TryParse (HttpRequestBodySizeMiddleware) and keeps
// Kestrel's 100 MiB (ScriptConstants.DefaultMaxRequestBodySize) when it does not parse.
func TestRequestBodyLimitSetting(t *testing.T) {
	tests := []struct {
		value string
		set   bool
		want  int64
		warn  bool
	}{
		{"", false, DefaultRequestBodyLimit, false},
		{"1024", true, 1024, false},
		{" 2048 ", true, 2048, false},
		{"0", true, 0, false},
		{"100MB", true, DefaultRequestBodyLimit, true},
		{"-1", true, DefaultRequestBodyLimit, true},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			settings := map[string]string{}
			if tt.set {
				settings[SettingRequestBodyLimit] = tt.value
			}
			got, err := requestBodyLimit(settings)
			if got != tt.want || (err != nil) != tt.warn {
				t.Errorf("requestBodyLimit(%q) = %d, %v; want %d, warning %v", tt.value, got, err, tt.want, tt.warn)
			}
		})
	}
}

type sizeAnswer struct {
	Bytes            int      `json:"bytes"`
	BodyPresent      bool     `json:"bodyPresent"`
	TransferEncoding []string `json:"transferEncoding"`
}

// post sends n bytes to url, chunked (no Content-Length) when asked, and returns the status, whether the server
// closed the connection, and the body.
func post(t *testing.T, url string, n int, chunked bool, contentType string) (int, bool, string) {
	t.Helper()
	var body io.Reader = bytes.NewReader(bytes.Repeat([]byte("o"), n))
	if chunked {
		body = io.MultiReader(body) // hides the length
	}
	req, err := http.NewRequest(http.MethodPost, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if chunked {
		req.ContentLength = -1
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Close, string(b)
}

// Like the host: a body over the limit is refused with 413 before any invocation, with Content-Length or
// chunked; a chunked body within it is read and dropped, since the host passes a body on only when
// Content-Length is positive (GetRequestAsJObject, ToHttpRequestMessage), and the wrapped request still says
// Transfer-Encoding: chunked as Kestrel's headers do.
func TestRequestBodyLimit(t *testing.T) {
	exe := testHandler(t)
	for _, forward := range []bool{false, true} {
		h := startHost(t, makeDist(t, "http", hostJSON(forward), exe), map[string]string{SettingRequestBodyLimit: "1024"})
		mode := map[bool]string{false: "wrapped/", true: "forwarded/"}[forward]
		tests := []struct {
			name        string
			size        int
			chunked     bool
			contentType string
			status      int
			bytes       int
		}{
			{"at the limit", 1024, false, "application/json", http.StatusOK, 1024},
			{"binary at the limit", 1024, false, "application/octet-stream", http.StatusOK, 1024},
			{"one byte over", 1025, false, "application/json", http.StatusRequestEntityTooLarge, 0},
			{"chunked within the limit: dropped", 100, true, "application/json", http.StatusOK, 0},
			{"chunked over", 1025, true, "application/json", http.StatusRequestEntityTooLarge, 0},
			{"chunked far over", 8 << 20, true, "application/json", http.StatusRequestEntityTooLarge, 0},
			{"empty", 0, false, "", http.StatusOK, 0},
		}
		for _, tt := range tests {
			t.Run(mode+tt.name, func(t *testing.T) {
				status, closed, body := post(t, h.base+"/api/size", tt.size, tt.chunked, tt.contentType)
				if status != tt.status {
					t.Fatalf("status %d, want %d: %.200s", status, tt.status, body)
				}
				if status == http.StatusRequestEntityTooLarge {
					if body != "" || !closed {
						t.Errorf("413 with body %q, connection closed %v; Kestrel answers it empty and closes", body, closed)
					}
					return
				}
				var got sizeAnswer
				if err := json.Unmarshal([]byte(body), &got); err != nil {
					t.Fatalf("decoding %q: %v", body, err)
				}
				if got.Bytes != tt.bytes {
					t.Errorf("the function got %d bytes, want %d", got.Bytes, tt.bytes)
				}
				if !forward && got.BodyPresent != (tt.bytes > 0) {
					t.Errorf("Body present %v", got.BodyPresent)
				}
				if !forward && tt.chunked && strings.Join(got.TransferEncoding, ",") != "chunked" {
					t.Errorf("Transfer-Encoding in Data.req.Headers = %q, want chunked", got.TransferEncoding)
				}
			})
		}
		if !strings.Contains(h.log.String(), "request body too large") {
			t.Errorf("%s: the host log does not say why it answered 413", mode)
		}
	}
}

// The body is written into the invocation as it is read; what arrives must be what encoding/json makes of the
// same bytes (invalid UTF-8 as U+FFFD), however the reads split them. A leading UTF-8 byte order mark is dropped,
// as the host's StreamReader with detectEncodingFromByteOrderMarks does.
func TestBodyStreamsAsAJSONString(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("ab\"\\\n\r\t\x00\x1f\x7f/<>&é€😀\xff\xc3\xe2\x82\xf0\x9f")
	inputs := [][]byte{nil, []byte("plain"), []byte("\xef\xbb\xbfwith a BOM"), []byte("é"), []byte("\xc3"), []byte("\u2028\u2029")}
	for range 300 {
		b := make([]byte, rng.IntN(64))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		inputs = append(inputs, b)
	}
	for i, in := range inputs {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			want := string(bytes.TrimPrefix(in, []byte("\xef\xbb\xbf")))
			wantJSON, _ := json.Marshal(want)
			var wantText string
			_ = json.Unmarshal(wantJSON, &wantText)

			var out bytes.Buffer
			src := &choppyReader{b: in, rng: rng}
			if err := writeBodyJSON(&out, src, false); err != nil {
				t.Fatal(err)
			}
			var got string
			if err := json.Unmarshal(out.Bytes(), &got); err != nil {
				t.Fatalf("%q streamed to invalid JSON %q: %v", in, out.Bytes(), err)
			}
			if got != wantText {
				t.Errorf("%q streamed as %q, want %q", in, got, wantText)
			}
		})
	}
}

// choppyReader hands its bytes out in random small pieces, so runes and escapes straddle reads.
type choppyReader struct {
	b   []byte
	rng *rand.Rand
}

func (r *choppyReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), 1+r.rng.IntN(4), len(r.b))
	copy(p, r.b[:n])
	r.b = r.b[n:]
	return n, nil
}

// A body that ends before its Content-Length is the caller's broken request: Kestrel answers it 400, never as a
// failed invocation (500).
func TestBodyCutShortIs400(t *testing.T) {
	h := startHost(t, makeDist(t, "http", hostJSON(false), testHandler(t)), nil)
	conn, err := net.Dial("tcp", strings.TrimPrefix(h.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /api/size HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"a\":1}")
	conn.(*net.TCPConn).CloseWrite()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d, want 400", resp.StatusCode)
	}
}
