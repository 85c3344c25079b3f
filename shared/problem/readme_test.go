package problem

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// Every problem type URI points at an anchor in the README's Problems section, so each kind of the table has one
// there, with its status next to it, and the section names no kind the table lacks.
func TestReadmeListsEveryKind(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	start := strings.Index(readme, "\n## Problems")
	if start < 0 {
		t.Fatal("README.md has no Problems section")
	}
	readme = readme[start+1:]
	if end := strings.Index(readme, "\n## "); end > 0 {
		readme = readme[:end]
	}
	listed := map[string]string{}
	for _, m := range regexp.MustCompile("<a id=\"problem-([a-z-]+)\"></a>`#problem-[a-z-]+`\\s+(\\d{3})").FindAllStringSubmatch(readme, -1) {
		listed[m[1]] = m[2]
	}
	var names []string
	for k, r := range table {
		if k == Accepted {
			continue // not a failure: never rendered as a problem
		}
		names = append(names, r.name)
		status, ok := listed[r.name]
		switch {
		case !ok:
			t.Errorf("kind %s has no anchor #problem-%s in the README's Problems section", r.name, r.name)
		case status != strconv.Itoa(r.status):
			t.Errorf("README lists #problem-%s with %s; the table says %d", r.name, status, r.status)
		}
	}
	sort.Strings(names)
	for name := range listed {
		if _, ok := KindNamed(name); !ok {
			t.Errorf("README lists #problem-%s, which is no kind (kinds: %s)", name, strings.Join(names, ", "))
		}
	}
}
