// Package infra checks the deployment templates without Azure or AWS: that every app setting the code reads
// (the names in local.settings.example.json) is set by the Bicep and SAM templates, or is exempted with a
// reason in settings-policy.json, and that secrets are set only from a secret store.
//
// The Bicep side reads the keys of object literals assigned to variables whose names end in "Settings"
// (var productSettings = {...}); the SAM side reads the keys under every Environment.Variables block.
package infra

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Setting is one app setting a template sets.
type Setting struct {
	Name  string
	Value string // the value's source text up to the end of its line
	File  string
	Line  int
}

// Target is one deployment target's part of settings-policy.json.
type Target struct {
	Templates         []string          `json:"templates"` // globs relative to infra/
	SecretValueMarker string            `json:"secretValueMarker"`
	Secrets           []string          `json:"secrets"`
	Exempt            map[string]string `json:"exempt"` // setting name -> why it does not apply
}

// Policy is settings-policy.json.
type Policy struct {
	Comment string            `json:"comment"`
	Targets map[string]Target `json:"targets"`
}

// ParsePolicy reads settings-policy.json, rejecting unknown fields so a typo cannot silently exempt nothing.
func ParsePolicy(data []byte) (Policy, error) {
	var p Policy
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return Policy{}, fmt.Errorf("decoding settings policy: %w", err)
	}
	if len(p.Targets) == 0 {
		return Policy{}, errors.New("decoding settings policy: no targets")
	}
	return p, nil
}

// LocalSettingNames returns the names under "Values" in local.settings.example.json, in file order.
func LocalSettingNames(data []byte) ([]string, error) {
	var doc struct {
		Values json.RawMessage `json:"Values"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("decoding local settings: %w", err)
	}
	if len(doc.Values) == 0 {
		return nil, errors.New("decoding local settings: no Values object")
	}
	dec := json.NewDecoder(bytes.NewReader(doc.Values))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("decoding local settings: Values is not an object (%v)", err)
	}
	var names []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("decoding local settings: %w", err)
		}
		name, _ := tok.(string)
		names = append(names, name)
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, fmt.Errorf("decoding local settings value of %s: %w", name, err)
		}
	}
	return names, nil
}

var settingsVar = regexp.MustCompile(`(?m)^[ \t]*var[ \t]+[A-Za-z_][A-Za-z0-9_]*Settings[ \t]*=[ \t]*\{`)

// BicepSettings returns the keys of every object literal assigned to a variable named *Settings.
func BicepSettings(file string, src []byte) ([]Setting, error) {
	var out []Setting
	for _, loc := range settingsVar.FindAllIndex(src, -1) {
		open := loc[1] - 1
		found, err := objectKeys(src, open)
		if err != nil {
			return nil, fmt.Errorf("reading settings object at %s:%d: %w", file, lineAt(src, open), err)
		}
		for i := range found {
			found[i].File = file
		}
		out = append(out, found...)
	}
	return out, nil
}

// objectKeys scans the Bicep object literal whose '{' is at src[open] and returns its top-level keys.
func objectKeys(src []byte, open int) ([]Setting, error) {
	var out []Setting
	depth := 0
	itemStart := false
	for i := open; i < len(src); {
		c := src[i]
		switch {
		case c == '/' && i+1 < len(src) && (src[i+1] == '/' || src[i+1] == '*'):
			i = skipComment(src, i)
			continue
		case c == '\'':
			if depth == 1 && itemStart {
				// A quoted key: 'name': value
				end, err := skipString(src, i)
				if err != nil {
					return nil, err
				}
				if s, ok := keyAfter(src, end, strings.Trim(string(src[i:end]), "'")); ok {
					s.Line = lineAt(src, i)
					out = append(out, s)
				}
				itemStart = false
				i = end
				continue
			}
			end, err := skipString(src, i)
			if err != nil {
				return nil, err
			}
			itemStart = false
			i = end
			continue
		case c == '{' || c == '[' || c == '(':
			depth++
			itemStart = depth == 1
		case c == '}' || c == ']' || c == ')':
			depth--
			if depth == 0 {
				return out, nil
			}
		case c == '\n' || c == ',':
			itemStart = depth == 1
		case c == ' ' || c == '\t' || c == '\r':
		case isIdentStart(c):
			j := i
			for j < len(src) && isIdentPart(src[j]) {
				j++
			}
			if depth == 1 && itemStart {
				if s, ok := keyAfter(src, j, string(src[i:j])); ok {
					s.Line = lineAt(src, i)
					out = append(out, s)
				}
			}
			itemStart = false
			i = j
			continue
		default:
			itemStart = false
		}
		i++
	}
	return nil, errors.New("object is not closed")
}

// keyAfter reports whether a ':' follows src[end:] (after blanks), making name a key, and captures its value.
func keyAfter(src []byte, end int, name string) (Setting, bool) {
	j := end
	for j < len(src) && (src[j] == ' ' || src[j] == '\t') {
		j++
	}
	if j >= len(src) || src[j] != ':' {
		return Setting{}, false
	}
	rest := src[j+1:]
	if nl := bytes.IndexByte(rest, '\n'); nl >= 0 {
		rest = rest[:nl]
	}
	return Setting{Name: name, Value: strings.TrimSpace(string(rest))}, true
}

func skipComment(src []byte, i int) int {
	if src[i+1] == '/' {
		if nl := bytes.IndexByte(src[i:], '\n'); nl >= 0 {
			return i + nl
		}
		return len(src)
	}
	if end := bytes.Index(src[i+2:], []byte("*/")); end >= 0 {
		return i + 2 + end + 2
	}
	return len(src)
}

// skipString returns the index just past the string starting at src[i] ('...' with \ escapes and ${...}
// interpolations that may hold strings themselves, or a triple-quoted multi-line string with neither).
func skipString(src []byte, i int) (int, error) {
	if bytes.HasPrefix(src[i:], []byte("'''")) {
		end := bytes.Index(src[i+3:], []byte("'''"))
		if end < 0 {
			return 0, errors.New("multi-line string is not closed")
		}
		return i + 3 + end + 3, nil
	}
	for j := i + 1; j < len(src); j++ {
		switch {
		case src[j] == '\\':
			j++
		case src[j] == '\'':
			return j + 1, nil
		case src[j] == '$' && j+1 < len(src) && src[j+1] == '{':
			end, err := skipInterpolation(src, j+2)
			if err != nil {
				return 0, err
			}
			j = end - 1
		case src[j] == '\n':
			return 0, errors.New("string is not closed on its line")
		}
	}
	return 0, errors.New("string is not closed")
}

func skipInterpolation(src []byte, i int) (int, error) {
	depth := 1
	for i < len(src) {
		switch src[i] {
		case '\'':
			end, err := skipString(src, i)
			if err != nil {
				return 0, err
			}
			i = end
			continue
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return i + 1, nil
			}
		}
		i++
	}
	return 0, errors.New("interpolation is not closed")
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentPart(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }

func lineAt(src []byte, i int) int { return bytes.Count(src[:i], []byte("\n")) + 1 }

var (
	yamlVariables = regexp.MustCompile(`^([ \t]*)Variables:[ \t]*(#.*)?$`)
	yamlKey       = regexp.MustCompile(`^([ \t]*)([A-Za-z_][A-Za-z0-9_]*):(?:[ \t]+(.*))?$`)
)

// SAMSettings returns the keys under every Environment "Variables:" mapping of a SAM or CloudFormation
// template (block style, as the template is written).
func SAMSettings(file string, src []byte) ([]Setting, error) {
	var out []Setting
	sc := bufio.NewScanner(bytes.NewReader(src))
	lineNo := 0
	parent := -1 // indent of the Variables: line we are under, -1 when none
	child := -1  // indent of its keys
	for sc.Scan() {
		lineNo++
		line := strings.TrimRight(sc.Text(), " \t\r")
		trimmed := strings.TrimLeft(line, " \t")
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		indent := len(line) - len(trimmed)
		if parent >= 0 {
			switch {
			case indent <= parent:
				parent, child = -1, -1
			case child < 0 || indent == child:
				child = indent
				m := yamlKey.FindStringSubmatch(line)
				if m == nil {
					return nil, fmt.Errorf("reading %s:%d: not a key under Variables", file, lineNo)
				}
				out = append(out, Setting{Name: m[2], Value: strings.TrimSpace(m[3]), File: file, Line: lineNo})
				continue
			default:
				continue // a continuation of a multi-line value
			}
		}
		if m := yamlVariables.FindStringSubmatch(line); m != nil {
			parent, child = len(m[1]), -1
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}
	return out, nil
}

// Problem is one way the templates fail the policy.
type Problem struct {
	Setting string
	Message string
}

func (p Problem) String() string { return p.Setting + ": " + p.Message }

// Check compares the local setting names with what a target's templates set and its policy exempts.
func Check(names []string, set []Setting, t Target) []Problem {
	var problems []Problem
	known := make(map[string]bool, len(names))
	for _, n := range names {
		known[n] = true
	}
	byName := make(map[string]Setting, len(set))
	for _, s := range set {
		if _, dup := byName[s.Name]; !dup {
			byName[s.Name] = s
		}
	}
	for _, n := range names {
		_, isSet := byName[n]
		reason, exempt := t.Exempt[n]
		switch {
		case !isSet && !exempt:
			problems = append(problems, Problem{n, "not set by the templates and not exempted in settings-policy.json"})
		case isSet && exempt:
			s := byName[n]
			problems = append(problems, Problem{n, fmt.Sprintf("set at %s:%d yet exempted in settings-policy.json; keep one", s.File, s.Line)})
		case exempt && strings.TrimSpace(reason) == "":
			problems = append(problems, Problem{n, "exempted without a reason"})
		}
	}
	for n := range t.Exempt {
		if !known[n] {
			problems = append(problems, Problem{n, "exempted in settings-policy.json but not in local.settings.example.json"})
		}
	}
	for _, n := range t.Secrets {
		s, ok := byName[n]
		if !ok {
			continue // reported above when it matters
		}
		if t.SecretValueMarker == "" || !strings.Contains(s.Value, t.SecretValueMarker) {
			problems = append(problems, Problem{n, fmt.Sprintf("secret set at %s:%d without %q; secrets come from the secret store only", s.File, s.Line, t.SecretValueMarker)})
		}
	}
	sort.SliceStable(problems, func(i, j int) bool { return problems[i].Setting < problems[j].Setting })
	return problems
}

// TemplateFiles expands a target's globs under root, failing on a glob that matches nothing.
func TemplateFiles(root string, t Target) ([]string, error) {
	var files []string
	for _, g := range t.Templates {
		m, err := filepath.Glob(filepath.Join(root, g))
		if err != nil {
			return nil, fmt.Errorf("expanding template glob %q: %w", g, err)
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("expanding template glob %q: no files", g)
		}
		files = append(files, m...)
	}
	return files, nil
}

// ReadSettings extracts the settings set by the given template files, choosing the reader by extension.
func ReadSettings(files []string) ([]Setting, error) {
	var all []Setting
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("reading template: %w", err)
		}
		var got []Setting
		switch filepath.Ext(f) {
		case ".bicep":
			got, err = BicepSettings(f, src)
		case ".yaml", ".yml":
			got, err = SAMSettings(f, src)
		default:
			err = fmt.Errorf("reading template %s: unknown kind", f)
		}
		if err != nil {
			return nil, err
		}
		all = append(all, got...)
	}
	return all, nil
}
