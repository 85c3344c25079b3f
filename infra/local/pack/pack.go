// Package pack lays out a function app the way the Azure Functions host expects it: host.json, the handler
// executable and one <Function>/function.json folder per function, all at the root of dist/; and zips that layout
// for deployment, keeping the handler's run bit.
package pack

import (
	"archive/zip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"time"
)

// FunctionsDir is where the sources keep one folder per function, each with its function.json.
const FunctionsDir = "functions"

// HandlerName is the executable's name in dist/, matching host.json customHandler.description.defaultExecutablePath.
const HandlerName = "handler"

// zipTime is the modification time written into every zip entry, so that one layout always gives the same bytes.
var zipTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// The host takes a function's name from its folder; it accepts letters, digits, '_' and '-', starting with a letter.
var functionName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,127}$`)

// Function is one function found in the sources.
type Function struct {
	Name string // the folder name, which is the function's name for the host
	JSON string // path of its function.json in the sources
}

// Functions lists the functions under src/functions: every direct sub-folder holding a function.json.
// Each function.json must be valid JSON with a non-empty "bindings" array.
func Functions(src string) ([]Function, error) {
	root := filepath.Join(src, FunctionsDir)
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", root, err)
	}
	var fns []Function
	var problems []error
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		p := filepath.Join(root, e.Name(), "function.json")
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if !functionName.MatchString(e.Name()) {
			problems = append(problems, fmt.Errorf("function folder %q: not a valid function name", e.Name()))
			continue
		}
		if err := checkFunctionJSON(p); err != nil {
			problems = append(problems, err)
			continue
		}
		fns = append(fns, Function{Name: e.Name(), JSON: p})
	}
	if err := errors.Join(problems...); err != nil {
		return nil, err
	}
	if len(fns) == 0 {
		return nil, fmt.Errorf("finding functions: no %s/<name>/function.json under %s", FunctionsDir, src)
	}
	return fns, nil
}

func checkFunctionJSON(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	var doc struct {
		Bindings []json.RawMessage `json:"bindings"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("parsing %s: %w", path, err)
	}
	if len(doc.Bindings) == 0 {
		return fmt.Errorf("checking %s: no bindings", path)
	}
	return nil
}

// Layout builds dist from scratch: dist/host.json (from src/host.json), dist/handler (a copy of handler, mode 0755)
// and dist/<name>/function.json for each function under src/functions. Anything already in dist is removed first,
// so a deleted function never lingers.
func Layout(src, handler, dist string) ([]Function, error) {
	fns, err := Functions(src)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(handler); err != nil {
		return nil, fmt.Errorf("finding the handler executable: %w", err)
	}
	if err := os.RemoveAll(dist); err != nil {
		return nil, fmt.Errorf("clearing %s: %w", dist, err)
	}
	if err := os.MkdirAll(dist, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dist, err)
	}
	if err := copyFile(filepath.Join(src, "host.json"), filepath.Join(dist, "host.json"), 0o644); err != nil {
		return nil, err
	}
	if err := copyFile(handler, filepath.Join(dist, HandlerName), 0o755); err != nil {
		return nil, err
	}
	for _, f := range fns {
		if err := os.MkdirAll(filepath.Join(dist, f.Name), 0o755); err != nil {
			return nil, fmt.Errorf("creating the folder of %s: %w", f.Name, err)
		}
		if err := copyFile(f.JSON, filepath.Join(dist, f.Name, "function.json"), 0o644); err != nil {
			return nil, err
		}
	}
	return fns, nil
}

func copyFile(from, to string, mode fs.FileMode) error {
	in, err := os.Open(from)
	if err != nil {
		return fmt.Errorf("opening %s: %w", from, err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return fmt.Errorf("creating %s: %w", to, err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copying %s to %s: %w", from, to, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", to, err)
	}
	// OpenFile's mode is filtered by the umask; the run bit must survive whatever umask the machine has.
	if err := os.Chmod(to, mode); err != nil {
		return fmt.Errorf("setting the mode of %s: %w", to, err)
	}
	return nil
}

// Zip writes every file under dist into a zip at path, with paths relative to dist, in a stable order, and with each
// file's Unix mode in its header so that the handler keeps its run bit when the platform unpacks it.
func Zip(dist, path string) error {
	var files []string
	err := filepath.WalkDir(dist, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("listing %s: %w", dist, err)
	}
	sort.Strings(files)
	out, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	zw := zip.NewWriter(out)
	for _, p := range files {
		if err := addToZip(zw, dist, p); err != nil {
			out.Close()
			return err
		}
	}
	if err := zw.Close(); err != nil {
		out.Close()
		return fmt.Errorf("finishing %s: %w", path, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", path, err)
	}
	return nil
}

func addToZip(zw *zip.Writer, dist, p string) error {
	info, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("reading %s: %w", p, err)
	}
	rel, err := filepath.Rel(dist, p)
	if err != nil {
		return fmt.Errorf("naming %s in the zip: %w", p, err)
	}
	h := &zip.FileHeader{Name: filepath.ToSlash(rel), Method: zip.Deflate, Modified: zipTime}
	h.SetMode(info.Mode().Perm())
	w, err := zw.CreateHeader(h)
	if err != nil {
		return fmt.Errorf("adding %s to the zip: %w", rel, err)
	}
	in, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("opening %s: %w", p, err)
	}
	defer in.Close()
	if _, err := io.Copy(w, in); err != nil {
		return fmt.Errorf("compressing %s: %w", rel, err)
	}
	return nil
}
