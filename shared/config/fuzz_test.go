package config

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"
)

// Settings are typed by operators (and pasted from portals, with secrets in them). Every parser of a setting
// must refuse what the Functions host or the clients would refuse later, report it, and never echo a secret.

// cronMonths and cronDays are the value names NCrontab knows, for month and day of week.
var (
	cronMonths = []string{"january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"}
	cronDays   = []string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}
)

// cronFieldOK is NCrontab's grammar for one field, written out independently of the validator: a comma list of
// items, each "*", a value or a range of values, optionally "/step" with a positive step; a value is digits
// within the field's limits or, for month and day of week, a name (NCrontab takes any leading part of one).
// It leaves reversed ranges and oversized steps to NCrontab, which does not refuse them either.
func cronFieldOK(f string, lo, hi int, names []string) bool {
	value := func(v string) bool {
		if v == "" {
			return false
		}
		if v[0] >= '0' && v[0] <= '9' {
			n, err := strconv.Atoi(v)
			return err == nil && strings.Trim(v, "0123456789") == "" && n >= lo && n <= hi
		}
		return slices.ContainsFunc(names, func(name string) bool { return strings.HasPrefix(name, strings.ToLower(v)) })
	}
	for _, item := range strings.Split(f, ",") {
		base, step, hasStep := strings.Cut(item, "/")
		if hasStep {
			n, err := strconv.Atoi(strings.TrimPrefix(step, "+"))
			if err != nil || n <= 0 || strings.Trim(strings.TrimPrefix(step, "+"), "0123456789") != "" {
				return false
			}
		}
		if base == "*" {
			continue
		}
		a, b, isRange := strings.Cut(base, "-")
		if !value(a) || (isRange && !value(b)) {
			return false
		}
	}
	return true
}

// FuzzValidateNCRONTAB checks the schedule validator against NCrontab's grammar: nothing it accepts would be
// refused by the host (which would then not start the function), and its verdict does not depend on spacing.
func FuzzValidateNCRONTAB(f *testing.F) {
	for _, s := range []string{"0 */15 * * * *", "0 */5 * * * *", "0 30 9 * * 1-5", "*/2 * * * * *", "0 0 0 1 Jan *", "0 0 12 * * Mon,Fri",
		"0 0 0 1 1-12/2 sun-sat", "5/10 * * * * *", "0 0 0 * * 7", "/5 * * * * *", "0,,5 * * * * *", ", * * * * *", "+5 * * * * *",
		"0 0 0 * xyz *", "*/15 * * * *", "0 0 24 * * *", "0 */0 * * * *", "x * * * * *", "", "\t0  0 0\n* * *", "0 0 0 31-1 * *", "*/+5 * * * * *"} {
		f.Add(s)
	}
	limits := [6][2]int{{0, 59}, {0, 59}, {0, 23}, {1, 31}, {1, 12}, {0, 6}}
	names := [6][]string{4: cronMonths, 5: cronDays}
	f.Fuzz(func(t *testing.T, expr string) {
		err := ValidateNCRONTAB(expr)
		fields := strings.Fields(expr)
		if again := ValidateNCRONTAB(strings.Join(fields, " ")); (again == nil) != (err == nil) {
			t.Fatalf("%q: %v, but with single spaces: %v", expr, err, again)
		}
		if err != nil {
			return
		}
		if len(fields) != 6 {
			t.Fatalf("%q accepted with %d fields", expr, len(fields))
		}
		for i, field := range fields {
			if !cronFieldOK(field, limits[i][0], limits[i][1], names[i]) {
				t.Fatalf("%q accepted, but NCrontab refuses field %d %q", expr, i+1, field)
			}
		}
	})
}

// FuzzDuration reads duration settings: accepted exactly when Go reads the trimmed text, the same value, and
// the value's own text reads back the same.
func FuzzDuration(f *testing.F) {
	for _, s := range []string{"30s", " 5m ", "1h30m", "0", "-1s", "1.5s", "25", "1d", "", "9223372036854775807ns", "2562048h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		var d Duration
		if err := d.EnvDecode(v); err != nil {
			t.Fatalf("EnvDecode returned %v; errors are kept for Validate", err)
		}
		want, werr := time.ParseDuration(strings.TrimSpace(v))
		if (d.err == nil) != (werr == nil) || (werr == nil && d.D != want) {
			t.Fatalf("%q read as %s (%v); Go reads %s (%v)", v, d.D, d.err, want, werr)
		}
		if d.err != nil {
			return
		}
		var back Duration
		if _ = back.EnvDecode(d.D.String()); back.err != nil || back.D != d.D {
			t.Fatalf("%q → %s → %s (%v)", v, d.D, back.D, back.err)
		}
	})
}

// FuzzInt reads whole-number settings: accepted exactly when the trimmed text is an int, and it reads back.
func FuzzInt(f *testing.F) {
	for _, s := range []string{"52", " 4 ", "-1", "+3", "1e3", "0x10", "", "99999999999999999999", "33554432"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		var n Int
		if err := n.EnvDecode(v); err != nil {
			t.Fatalf("EnvDecode returned %v; errors are kept for Validate", err)
		}
		want, werr := strconv.Atoi(strings.TrimSpace(v))
		if (n.err == nil) != (werr == nil) || (werr == nil && n.N != want) {
			t.Fatalf("%q read as %d (%v); strconv reads %d (%v)", v, n.N, n.err, want, werr)
		}
	})
}

// secretMark starts every secret the settings target plants; no message of the validator contains it.
const secretMark = "Zq9~"

// FuzzSettingsNeverEchoSecrets loads the example settings with one setting replaced by fuzzed text and every
// secret planted (passwords, client secrets, the storage account key, and optionally a password inside
// SAP_BASE_URL): neither the error nor any printed form of what loaded shows a secret.
func FuzzSettingsNeverEchoSecrets(f *testing.F) {
	b, err := os.ReadFile(filepath.Join("..", "..", "local.settings.example.json"))
	if err != nil {
		f.Fatal(err)
	}
	var file struct {
		Values map[string]string `json:"Values"`
	}
	if err := json.Unmarshal(b, &file); err != nil {
		f.Fatal(err)
	}
	names := slices.Sorted(maps.Keys(file.Values))
	for i, name := range names {
		f.Add(uint8(i), file.Values[name], "secret", uint8(0))
	}
	f.Add(uint8(0), "", "c2VjcmV0LWtleQ==", uint8(1))
	f.Add(uint8(0), "", "not base64", uint8(2))
	f.Add(uint8(0), "", "x", uint8(3))
	f.Fuzz(func(t *testing.T, setting uint8, value, secret string, mode uint8) {
		env := maps.Clone(file.Values)
		// The fuzzed setting cannot hold the mark itself: settings that are not secret may be quoted in errors.
		env[names[int(setting)%len(names)]] = strings.ReplaceAll(value, "~", "")
		secret = secretMark + secret
		for _, k := range []string{"SAP_PASSWORD", "SAP_OAUTH_CLIENT_SECRET", "DATAVERSE_CLIENT_SECRET"} {
			env[k] = secret
		}
		if mode&1 != 0 {
			env["AzureWebJobsStorage"] = "DefaultEndpointsProtocol=https;AccountName=acct1;AccountKey=" + secret
		}
		if mode&2 != 0 {
			env["SAP_BASE_URL"] = "https://integration:" + secret + "@s4.example.com"
		}
		c, err := Load(context.Background(), envconfig.MapLookuper(env))
		if err != nil {
			if strings.Contains(err.Error(), secretMark) {
				t.Fatalf("the error shows a secret: %v", err)
			}
			return
		}
		var logged bytes.Buffer
		slog.New(slog.NewJSONHandler(&logged, nil)).Info("settings", "config", c)
		for _, out := range []string{fmt.Sprintf("%v %+v %#v", c, c, c), logged.String()} {
			if strings.Contains(out, secretMark) {
				t.Fatalf("a printed form of the settings shows a secret: %s", out)
			}
		}
	})
}
