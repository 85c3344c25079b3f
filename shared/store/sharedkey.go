package store

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// sharedKeyPolicy signs Blob service requests with the account key (the "SharedKey" scheme), for the
// few REST calls this package makes itself; the azblob block blob clients sign their own.
type sharedKeyPolicy struct {
	account string
	key     []byte
}

func newSharedKeyPolicy(account, base64Key string) (*sharedKeyPolicy, error) {
	key, err := base64.StdEncoding.DecodeString(base64Key)
	if err != nil {
		return nil, fmt.Errorf("decoding account key: %w", err)
	}
	return &sharedKeyPolicy{account: account, key: key}, nil
}

// Do stamps x-ms-date afresh on every attempt (a retry must not carry a stale date) and signs.
func (p *sharedKeyPolicy) Do(req *policy.Request) (*http.Response, error) {
	raw := req.Raw()
	delete(raw.Header, "x-ms-date")
	raw.Header.Set("x-ms-date", time.Now().UTC().Format(http.TimeFormat))
	sig, err := p.sign(raw)
	if err != nil {
		return nil, err
	}
	raw.Header.Set("Authorization", "SharedKey "+p.account+":"+sig)
	return req.Next()
}

// sign returns the base64 HMAC-SHA256 of the request's string-to-sign under the account key.
func (p *sharedKeyPolicy) sign(req *http.Request) (string, error) {
	s, err := p.stringToSign(req)
	if err != nil {
		return "", err
	}
	h := hmac.New(sha256.New, p.key)
	h.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(h.Sum(nil)), nil
}

// stringToSign follows "Authorize with Shared Key" for the Blob service: the verb, eleven standard
// headers (Date left empty because x-ms-date is sent), the canonicalized x-ms-* headers and the
// canonicalized resource.
func (p *sharedKeyPolicy) stringToSign(req *http.Request) (string, error) {
	h := req.Header
	contentLength := h.Get("Content-Length")
	if contentLength == "0" {
		contentLength = ""
	}
	resource, err := p.canonicalizedResource(req.URL)
	if err != nil {
		return "", err
	}
	return strings.Join([]string{
		req.Method,
		h.Get("Content-Encoding"),
		h.Get("Content-Language"),
		contentLength,
		h.Get("Content-MD5"),
		h.Get("Content-Type"),
		"",
		h.Get("If-Modified-Since"),
		h.Get("If-Match"),
		h.Get("If-None-Match"),
		h.Get("If-Unmodified-Since"),
		h.Get("Range"),
		canonicalizedHeaders(h),
		resource,
	}, "\n"), nil
}

// canonicalizedHeaders lists the x-ms-* headers as lowercase "name:value" lines. The service orders
// names as .NET's culture-aware comparison does, which skips hyphens ("x-ms-meta-ab" sorts before
// "x-ms-meta-a-c"); header names are letters, digits and hyphens, so comparing them with the hyphens
// removed, then byte-wise, gives that order.
func canonicalizedHeaders(h http.Header) string {
	values := map[string][]string{}
	for k, v := range h {
		name := strings.ToLower(strings.TrimSpace(k))
		if strings.HasPrefix(name, "x-ms-") {
			values[name] = append(values[name], v...)
		}
	}
	names := make([]string, 0, len(values))
	for name := range values {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int {
		if c := strings.Compare(strings.ReplaceAll(a, "-", ""), strings.ReplaceAll(b, "-", "")); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	var sb strings.Builder
	for i, name := range names {
		if i > 0 {
			sb.WriteByte('\n')
		}
		sb.WriteString(name)
		sb.WriteByte(':')
		sb.WriteString(strings.Join(values[name], ","))
	}
	return sb.String()
}

// canonicalizedResource is "/{account}{escaped path}" then one "\nname:v1,v2" line per query
// parameter, names lowercased and sorted, values decoded and sorted.
func (p *sharedKeyPolicy) canonicalizedResource(u *url.URL) (string, error) {
	var sb strings.Builder
	sb.WriteString("/" + p.account)
	if u.Path != "" {
		sb.WriteString(u.EscapedPath())
	} else {
		sb.WriteByte('/')
	}
	params, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return "", fmt.Errorf("parsing query to sign: %w", err)
	}
	names := make([]string, 0, len(params))
	for name := range params {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		v := params[name]
		slices.Sort(v)
		sb.WriteString("\n" + strings.ToLower(name) + ":" + strings.Join(v, ","))
	}
	return sb.String(), nil
}
