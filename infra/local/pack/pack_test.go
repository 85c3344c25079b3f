package pack

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeTree creates files under root; a value starting with "#!" is written with mode 0755.
func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasPrefix(content, "#!") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
}

const httpFn = `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","authLevel":"anonymous"},{"type":"http","direction":"out","name":"res"}]}`

func TestLayoutAndZip(t *testing.T) {
	src := t.TempDir()
	writeTree(t, src, map[string]string{
		"host.json":                         `{"version":"2.0"}`,
		"functions/health/function.json":    httpFn,
		"functions/health/health.go":        "package health",
		"functions/orderpush/function.json": `{"bindings":[{"type":"queueTrigger","direction":"in","name":"msg","queueName":"q"}]}`,
		"functions/main.go":                 "package main",
		"functions/internalpkg/x.go":        "package internalpkg",
	})
	handler := filepath.Join(t.TempDir(), "handler-build")
	// Written without the run bit: Layout must set it whatever the build left.
	if err := os.WriteFile(handler, []byte("\x7fELF fake"), 0o600); err != nil {
		t.Fatal(err)
	}
	dist := filepath.Join(t.TempDir(), "dist")
	writeTree(t, dist, map[string]string{"stale/function.json": httpFn})

	fns, err := Layout(src, handler, dist)
	if err != nil {
		t.Fatalf("Layout: %v", err)
	}
	var names []string
	for _, f := range fns {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, ","); got != "health,orderpush" {
		t.Errorf("functions = %s, want health,orderpush", got)
	}
	want := map[string]os.FileMode{
		"host.json":               0o644,
		"handler":                 0o755,
		"health/function.json":    0o644,
		"orderpush/function.json": 0o644,
	}
	got := map[string]os.FileMode{}
	err = filepath.WalkDir(dist, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dist, p)
		got[filepath.ToSlash(rel)] = info.Mode().Perm()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Errorf("dist holds %v, want %v", got, want)
	}
	for name, mode := range want {
		if got[name] != mode {
			t.Errorf("%s: mode %v, want %v", name, got[name], mode)
		}
	}

	zipPath := filepath.Join(t.TempDir(), "dist.zip")
	if err := Zip(dist, zipPath); err != nil {
		t.Fatalf("Zip: %v", err)
	}
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var order []string
	for _, f := range zr.File {
		order = append(order, f.Name)
		if mode, ok := want[f.Name]; !ok || f.Mode().Perm() != mode {
			t.Errorf("zip entry %s: mode %v, want %v (known: %v)", f.Name, f.Mode().Perm(), mode, ok)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		onDisk, _ := os.ReadFile(filepath.Join(dist, filepath.FromSlash(f.Name)))
		if !bytes.Equal(b, onDisk) {
			t.Errorf("zip entry %s differs from dist", f.Name)
		}
	}
	if got := strings.Join(order, ","); got != "handler,health/function.json,host.json,orderpush/function.json" {
		t.Errorf("zip order = %s", got)
	}

	// The same layout zips to the same bytes.
	again := filepath.Join(t.TempDir(), "again.zip")
	if err := Zip(dist, again); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(zipPath)
	b, _ := os.ReadFile(again)
	if !bytes.Equal(a, b) {
		t.Error("two zips of one layout differ")
	}
}

func TestFunctionsRejects(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"no functions", map[string]string{"functions/main.go": "package main"}, "no functions/<name>/function.json"},
		{"bad json", map[string]string{"functions/a/function.json": `{"bindings":[`}, "parsing"},
		{"no bindings", map[string]string{"functions/a/function.json": `{"bindings":[]}`}, "no bindings"},
		{"bad name", map[string]string{"functions/1a/function.json": httpFn}, "not a valid function name"},
		{"no functions dir", map[string]string{"host.json": "{}"}, "reading"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := t.TempDir()
			writeTree(t, src, tt.files)
			_, err := Functions(src)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestLayoutNeedsHandlerAndHostJSON(t *testing.T) {
	src := t.TempDir()
	writeTree(t, src, map[string]string{"functions/health/function.json": httpFn})
	handler := filepath.Join(t.TempDir(), "h")
	if _, err := Layout(src, handler, filepath.Join(t.TempDir(), "d")); err == nil || !strings.Contains(err.Error(), "handler") {
		t.Errorf("missing handler: err = %v", err)
	}
	if err := os.WriteFile(handler, []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Layout(src, handler, filepath.Join(t.TempDir(), "d")); err == nil || !strings.Contains(err.Error(), "host.json") {
		t.Errorf("missing host.json: err = %v", err)
	}
}
