// Package canary finds secrets where they must never be: a test sets a random canary as every secret setting,
// drives the app, hands everything the app left behind (log lines, HTTP answers, table entities, blobs, queue
// messages) to a Scan, and fails on any Finding. A secret leaks in many spellings, so a Scan looks for each
// Needle of it: as set, URL- and JSON-escaped, and inside base64 at any alignment (a Basic auth header, a
// message body); documents are searched as stored and again after gunzip, base64 and JSON string decoding.
package canary

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
)

// New is a fresh canary: "canary-", random hex, and characters that URL and JSON encoding change, so an escaped
// copy differs from the value and each spelling is searched for in its own right.
func New() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return "canary-" + hex.EncodeToString(b) + "+/&"
}

// Needle is one spelling of a secret.
type Needle struct {
	Secret string // what is looked for, in words ("the canary", "the storage account key")
	Form   string // which spelling: "as set", "URL query-encoded", "base64 (offset 1)", ...
	Text   string
	Fold   bool // compared without regard to case (never for base64, where case is meaning)
}

// minBase64 is the shortest base64 run searched for: shorter runs could occur by chance in other base64 text.
const minBase64 = 16

// Needles are the spellings of secret (named by what): the text forms, and each of them base64-encoded at the
// three alignments it can have inside longer encoded text. basic lists "user:password" pairs whose Basic auth
// header is searched for as a whole too.
func Needles(what, secret string, basic ...string) []Needle {
	var out []Needle
	seen := map[string]bool{}
	add := func(form, text string, fold bool) {
		if text == "" || seen[text] {
			return
		}
		seen[text] = true
		out = append(out, Needle{Secret: what, Form: form, Text: text, Fold: fold})
	}
	texts := []struct{ form, text string }{
		{"as set", secret},
		{"URL query-encoded", url.QueryEscape(secret)},
		{"URL path-encoded", url.PathEscape(secret)},
		{"JSON-escaped", jsonEscaped(secret, true)},
		{"JSON-escaped without HTML escapes", jsonEscaped(secret, false)},
	}
	for _, t := range texts {
		add(t.form, t.text, true)
	}
	for _, t := range texts {
		for _, enc := range []struct {
			name string
			e    *base64.Encoding
		}{{"base64", base64.StdEncoding}, {"base64url", base64.URLEncoding}} {
			for off := range 3 {
				if run := alignedBase64(enc.e, t.text, off); len(run) >= minBase64 {
					add(fmt.Sprintf("%s, %s at offset %d", t.form, enc.name, off), run, false)
				}
			}
		}
	}
	for _, pair := range basic {
		add("Basic auth header "+strings.SplitN(pair, ":", 2)[0]+":…", base64.StdEncoding.EncodeToString([]byte(pair)), false)
	}
	return out
}

func jsonEscaped(s string, html bool) string {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(html)
	_ = e.Encode(s)
	return strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(b.String(), `"`), "\n"), `"`)
}

// alignedBase64 is the part of the base64 encoding of s, preceded by off other bytes, that depends on the bytes
// of s alone: whatever surrounds s, an encoding of text holding s at that alignment contains it.
func alignedBase64(e *base64.Encoding, s string, off int) string {
	enc := e.EncodeToString(append(make([]byte, off), s...))
	first := (off + 2) / 3 * 4 // the first group made only of s's bytes
	last := (off + len(s)) / 3 * 4
	if last <= first {
		return ""
	}
	return enc[first:last]
}

// Finding is one secret found in one document.
type Finding struct {
	Kind, Where string // what was searched ("log line", "answer", ...) and which one
	Needle      Needle
	Decoded     string // how the document was decoded before it matched ("" when as stored)
	Context     string // the text around the match
}

func (f Finding) String() string {
	dec := ""
	if f.Decoded != "" {
		dec = " after " + f.Decoded
	}
	return fmt.Sprintf("%s %s: %s (%s)%s: …%s…", f.Kind, f.Where, f.Needle.Secret, f.Needle.Form, dec, f.Context)
}

// Scan searches documents for needles and counts what it searched, by kind. Safe for concurrent use.
type Scan struct {
	needles []Needle

	mu       sync.Mutex
	counts   map[string]int
	groups   map[string]map[string]int // kind → where up to its first "/" (a table, container, queue) → count
	findings []Finding
}

// NewScan searches for these needles.
func NewScan(needles ...[]Needle) *Scan {
	return &Scan{needles: slices.Concat(needles...), counts: map[string]int{}, groups: map[string]map[string]int{}}
}

// Check searches one document of a kind ("log line", "answer", "entity", "blob", "queue message"), as stored
// and in every form it decodes to.
func (s *Scan) Check(kind, where string, doc []byte) {
	var found []Finding
	for _, d := range decodings(doc, "", 0) {
		for _, n := range s.needles {
			if c, ok := match(d.text, n); ok {
				found = append(found, Finding{Kind: kind, Where: where, Needle: n, Decoded: d.how, Context: c})
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[kind]++
	group, _, _ := strings.Cut(where, "/")
	if s.groups[kind] == nil {
		s.groups[kind] = map[string]int{}
	}
	s.groups[kind][group]++
	s.findings = append(s.findings, dedupe(found)...)
}

// Counts are the documents searched, by kind.
func (s *Scan) Counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.counts))
	for k, v := range s.counts {
		out[k] = v
	}
	return out
}

// Groups are the documents of a kind searched per group: the part of where before its first "/" (for storage,
// the table, container or queue).
func (s *Scan) Groups(kind string) map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.groups[kind] {
		out[k] = v
	}
	return out
}

// Findings are the leaks found so far.
func (s *Scan) Findings() []Finding {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.findings)
}

// Summary is the counts in one line, kinds sorted: "answer 120, blob 14, ...".
func (s *Scan) Summary() string {
	c := s.Counts()
	kinds := make([]string, 0, len(c))
	for k := range c {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%s %d", k, c[k])
	}
	return strings.Join(parts, ", ")
}

// dedupe keeps one finding per needle: a log line holding the canary also holds it after JSON decoding.
func dedupe(fs []Finding) []Finding {
	seen := map[string]bool{}
	var out []Finding
	for _, f := range fs {
		k := f.Needle.Secret + "\x00" + f.Needle.Form
		if !seen[k] {
			seen[k] = true
			out = append(out, f)
		}
	}
	return out
}

func match(text string, n Needle) (string, bool) {
	hay, needle := text, n.Text
	if n.Fold {
		hay, needle = strings.ToLower(hay), strings.ToLower(needle)
	}
	i := strings.Index(hay, needle)
	if i < 0 {
		return "", false
	}
	from, to := max(0, i-40), min(len(text), i+len(n.Text)+40)
	return text[from:to], true
}

type decoded struct{ text, how string }

// maxDepth bounds nested decoding (a gzip blob of JSON holding base64 of JSON ...).
const maxDepth = 4

// decodings are doc as stored and every form it decodes to: gunzipped, base64-decoded when it is all base64
// (a queue message), and each JSON string value decoded the same way (a payload stored as a base64 property).
func decodings(doc []byte, how string, depth int) []decoded {
	out := []decoded{{string(doc), how}}
	if depth >= maxDepth {
		return out
	}
	then := func(step string) string {
		if how == "" {
			return step
		}
		return how + ", " + step
	}
	if un, ok := gunzip(doc); ok {
		out = append(out, decodings(un, then("gunzip"), depth+1)...)
	}
	if b, ok := unbase64(doc); ok {
		out = append(out, decodings(b, then("base64 decoding"), depth+1)...)
	}
	var v any
	if json.Valid(doc) && json.Unmarshal(doc, &v) == nil {
		var plain []string
		for _, s := range jsonStrings(v, nil) {
			_, zipped := gunzip([]byte(s))
			_, encoded := unbase64([]byte(s))
			if zipped || encoded {
				out = append(out, decodings([]byte(s), then("a JSON string"), depth+1)...)
				continue
			}
			plain = append(plain, s)
		}
		// The document was searched escaped; its strings are searched unescaped too.
		if len(plain) > 0 {
			out = append(out, decoded{strings.Join(plain, "\n"), then("JSON decoding")})
		}
	}
	return out
}

func jsonStrings(v any, acc []string) []string {
	switch v := v.(type) {
	case string:
		acc = append(acc, v)
	case []any:
		for _, e := range v {
			acc = jsonStrings(e, acc)
		}
	case map[string]any:
		for k, e := range v {
			acc = jsonStrings(e, append(acc, k))
		}
	}
	return acc
}

func gunzip(b []byte) ([]byte, bool) {
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		return nil, false
	}
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, false
	}
	out, err := io.ReadAll(io.LimitReader(r, 256<<20))
	if err != nil && len(out) == 0 {
		return nil, false
	}
	return out, true
}

// unbase64 decodes b when all of it is base64 (standard or URL alphabet, padded or not) of at least 8 bytes.
func unbase64(b []byte) ([]byte, bool) {
	s := strings.TrimSpace(string(b))
	if len(s) < 12 {
		return nil, false
	}
	for _, e := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if out, err := e.DecodeString(s); err == nil {
			return out, true
		}
	}
	return nil, false
}
