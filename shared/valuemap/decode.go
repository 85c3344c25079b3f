package valuemap

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// decode reads the file token by token instead of with json.Unmarshal, because Unmarshal would let through three
// mistakes an operator makes when editing the file by hand: a key written twice (the last one silently wins, so
// an entry vanishes), a field name in the wrong case ("tosap" matches toSAP), and a number where a code belongs
// ("0001" typed as 1). The error return is for input that is not JSON or not shaped like the file, where reading
// cannot go on; everything else is collected in problems.
func decode(b []byte) (*Set, []string, error) {
	d := &decoder{dec: json.NewDecoder(bytes.NewReader(b))}
	d.dec.UseNumber() // no float64: a number is only ever reported, never used
	s := &Set{maps: map[string]*Map{}}
	if err := d.open("the value maps"); err != nil {
		return nil, nil, err
	}
	seen := map[string]bool{}
	for d.dec.More() {
		key, err := d.key()
		if err != nil {
			return nil, nil, err
		}
		if seen[key] {
			d.bad("%q appears twice in the file", key)
			if err := d.skip(); err != nil {
				return nil, nil, err
			}
			continue
		}
		seen[key] = true
		switch _, known := limits[key]; {
		case key == "comment":
			if s.Comment, _, err = d.text("comment"); err != nil {
				return nil, nil, err
			}
		case known:
			m, err := d.kind(key)
			if err != nil {
				return nil, nil, err
			}
			s.maps[key] = m
		default:
			d.bad("unknown kind %q (the file holds comment and %s)", key, knownKinds())
			if err := d.skip(); err != nil {
				return nil, nil, err
			}
		}
	}
	if err := d.close(); err != nil {
		return nil, nil, err
	}
	if _, err := d.dec.Token(); err != io.EOF {
		return nil, nil, errors.New("there is more after the closing } of the value maps")
	}
	return s, d.problems, nil
}

type decoder struct {
	dec      *json.Decoder
	problems []string
}

func (d *decoder) bad(format string, args ...any) {
	d.problems = append(d.problems, fmt.Sprintf(format, args...))
}

// open reads the { that starts an object; anything else stops decoding, since the rest cannot be read as the file.
func (d *decoder) open(what string) error {
	tok, err := d.dec.Token()
	if err != nil {
		return err
	}
	if tok != json.Delim('{') {
		return fmt.Errorf("%s must be a JSON object, not %s", what, describe(tok))
	}
	return nil
}

func (d *decoder) close() error {
	_, err := d.dec.Token() // More returned false, so this is the closing }
	return err
}

func (d *decoder) key() (string, error) {
	tok, err := d.dec.Token()
	if err != nil {
		return "", err
	}
	k, ok := tok.(string)
	if !ok { // unreachable: the decoder only hands out strings in key position
		return "", fmt.Errorf("reading an object key: got %s", describe(tok))
	}
	return k, nil
}

// text reads a string value; another kind of value is a problem, and is skipped (ok is false).
func (d *decoder) text(where string) (s string, ok bool, err error) {
	tok, err := d.dec.Token()
	if err != nil {
		return "", false, err
	}
	if s, ok := tok.(string); ok {
		return s, true, nil
	}
	d.bad("%s must be a string, not %s", where, describe(tok))
	return "", false, d.skipRest(tok)
}

// kind reads {"comment": ..., "toSAP": {...}, "fromSAP": {...}}. Missing directions are empty, which check reports
// when the other direction has entries.
func (d *decoder) kind(kind string) (*Map, error) {
	m := &Map{Kind: kind, ToSAP: map[string]string{}, FromSAP: map[string]string{}}
	tok, err := d.dec.Token()
	if err != nil {
		return nil, err
	}
	if tok != json.Delim('{') {
		d.bad("%s must be an object with toSAP and fromSAP, not %s", kind, describe(tok))
		return m, d.skipRest(tok)
	}
	seen := map[string]bool{}
	for d.dec.More() {
		key, err := d.key()
		if err != nil {
			return nil, err
		}
		if seen[key] {
			d.bad("%s: %q appears twice", kind, key)
			if err := d.skip(); err != nil {
				return nil, err
			}
			continue
		}
		seen[key] = true
		switch key {
		case "comment":
			m.Comment, _, err = d.text(kind + ".comment")
		case "toSAP":
			err = d.pairs(kind+".toSAP", m.ToSAP)
		case "fromSAP":
			err = d.pairs(kind+".fromSAP", m.FromSAP)
		default:
			d.bad("%s: unknown field %q (a kind holds toSAP, fromSAP and comment; names are case-sensitive)", kind, key)
			err = d.skip()
		}
		if err != nil {
			return nil, err
		}
	}
	return m, d.close()
}

// pairs reads an object of string to string into into.
func (d *decoder) pairs(where string, into map[string]string) error {
	tok, err := d.dec.Token()
	if err != nil {
		return err
	}
	if tok != json.Delim('{') {
		d.bad("%s must be an object of strings, not %s", where, describe(tok))
		return d.skipRest(tok)
	}
	for d.dec.More() {
		key, err := d.key()
		if err != nil {
			return err
		}
		v, ok, err := d.text(fmt.Sprintf("%s[%q]", where, key))
		switch _, dup := into[key]; {
		case err != nil:
			return err
		case !ok: // already reported; leaving it out spares follow-on problems about an empty code
		case dup:
			d.bad("%s: %q appears twice", where, key)
		default:
			into[key] = v
		}
	}
	return d.close()
}

// skip reads past one value.
func (d *decoder) skip() error {
	tok, err := d.dec.Token()
	if err != nil {
		return err
	}
	return d.skipRest(tok)
}

// skipRest reads past the value that tok began: nothing more for a scalar, up to the matching close for { or [.
func (d *decoder) skipRest(tok json.Token) error {
	if tok != json.Delim('{') && tok != json.Delim('[') {
		return nil
	}
	for depth := 1; depth > 0; {
		tok, err := d.dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
	return nil
}

func describe(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' {
			return "an array"
		}
		return "an object"
	case string:
		return fmt.Sprintf("the string %q", v)
	case json.Number:
		return "the number " + v.String()
	case bool:
		return fmt.Sprintf("%t", v)
	case nil:
		return "null"
	}
	return fmt.Sprintf("%v", tok)
}
