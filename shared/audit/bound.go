package audit

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"unicode/utf8"
)

// entityBudget keeps a row under the Table service's 1 MiB entity limit with room to spare: the
// service's own accounting has overheads its documentation does not list (measured at about 90
// bytes), and the SDK re-encodes the body before sending it.
const entityBudget = 1<<20 - 8<<10

var errTooLarge = errors.New("audit row cannot be cut to fit the entity limit")

// bound cuts e's strings so that its row fits: each to MaxPropertyUnits, then the longest ones
// further while the entity is over entityBudget by either measure the services apply. The Table
// service counts every string as two bytes per UTF-16 unit plus per-property overheads; Azurite
// counts the UTF-8 bytes of the JSON body, in which escaping can make one unit six bytes (Go escapes
// < > & and control characters), so both are checked.
func bound(e *Entry, rk string) error {
	fields := []*string{&e.Messages, &e.Detail, &e.Error, &e.Archive, &e.RemoteID, &e.Outcome, &e.Trigger, &e.InvocationID, &e.Kind}
	for _, f := range fields {
		if s, cut := Cut(*f, MaxPropertyUnits); cut {
			*f, e.Truncated = s, true
		}
	}
	jsonSize, serviceSize, err := sizes(e, rk)
	if err != nil {
		return err
	}
	// Each pass cuts the longest string to the longest prefix that fits, or to nothing; the sizes are
	// updated by difference (an emptied field's name stays counted, which only errs on the safe side).
	for range fields {
		if max(jsonSize, serviceSize) <= entityBudget {
			break
		}
		f := longest(fields)
		if *f == "" {
			break
		}
		if !e.Truncated {
			e.Truncated = true
			jsonSize += len(`,"truncated":true`)
			serviceSize += truncatedCost
		}
		cuts := prefixCosts(*f)
		whole := cuts[len(cuts)-1]
		size := func(c cost) (int, int) {
			return jsonSize - whole.json + c.json, serviceSize - 2*whole.units + 2*c.units
		}
		lo, hi := 0, len(cuts)-1
		for lo < hi {
			mid := (lo + hi + 1) / 2
			if j, v := size(cuts[mid]); max(j, v) <= entityBudget {
				lo = mid
			} else {
				hi = mid - 1
			}
		}
		*f = (*f)[:cuts[lo].end]
		jsonSize, serviceSize = size(cuts[lo])
	}
	// Measure the result itself rather than trust the arithmetic.
	if jsonSize, serviceSize, err = sizes(e, rk); err != nil {
		return err
	}
	if max(jsonSize, serviceSize) > entityBudget {
		return errTooLarge
	}
	return nil
}

// truncatedCost is what the Truncated property adds by the service's measure.
const truncatedCost = 8 + 2*len("truncated") + 1

func longest(fields []*string) *string {
	best := fields[0]
	for _, f := range fields[1:] {
		if len(*f) > len(*best) {
			best = f
		}
	}
	return best
}

// cost is what a prefix of a string costs: its end in bytes, its UTF-16 units, and the bytes of its
// JSON encoding without the quotes.
type cost struct{ end, units, json int }

// prefixCosts lists the cost of every prefix of s that ends between characters, the empty one first.
// Each character's JSON cost is measured by encoding/json itself, so escaping rules cannot drift.
func prefixCosts(s string) []cost {
	out := make([]cost, 1, len(s)+1)
	seen := map[string]int{}
	for i, r := range s {
		w := utf8.RuneLen(r)
		if r == utf8.RuneError && !strings.HasPrefix(s[i:], string(utf8.RuneError)) {
			w = 1 // an invalid byte
		}
		ch := s[i : i+w]
		j, ok := seen[ch]
		if !ok {
			j = jsonLen(ch) - 2
			seen[ch] = j
		}
		last := out[len(out)-1]
		out = append(out, cost{end: i + w, units: last.units + units(ch), json: last.json + j})
	}
	return out
}

func jsonLen(s string) int {
	b, _ := json.Marshal(s)
	return len(b)
}

// sizes measures e's row: the UTF-8 bytes of its JSON body (keys included), and the Table
// service's published accounting (4 bytes, the keys at 2 bytes a unit, then per property 8 bytes,
// its name at 2 bytes a unit and its value: strings 4 + 2 a unit, numbers and times 8, booleans 1).
func sizes(e *Entry, rk string) (jsonSize, serviceSize int, err error) {
	body, err := json.Marshal(e)
	if err != nil {
		return 0, 0, err
	}
	jsonSize = len(body) + len(`,"PartitionKey":,"RowKey":`) + jsonLen(e.Key) + jsonLen(rk)
	serviceSize = 4 + 2*(units(e.Key)+units(rk)) + 8 + 2*len("Timestamp") + 8
	v := reflect.ValueOf(e).Elem()
	for _, f := range reflect.VisibleFields(v.Type()) {
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		fv := v.FieldByIndex(f.Index)
		if name == "-" || (opts == "omitempty" && fv.IsZero()) {
			continue
		}
		serviceSize += 8 + 2*units(name)
		switch f.Type.Kind() {
		case reflect.String:
			serviceSize += 4 + 2*units(fv.String())
		case reflect.Bool:
			serviceSize++
		default:
			serviceSize += 8
		}
	}
	return jsonSize, serviceSize, nil
}
