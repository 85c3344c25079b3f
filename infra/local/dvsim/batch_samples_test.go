package dvsim

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The simulator reads Microsoft's documented $batch request: one changeset of three creates with
// Content-IDs, then a GET with a query.
func TestParseDocumentedBatchRequest(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(kitDir(t), "dataverse", "samples", "batch-changeset-request.http"))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ReplaceAll(string(raw), "\r\n", "\n")
	var ctype string
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, "Content-Type: multipart/mixed") {
			ctype = strings.TrimPrefix(line, "Content-Type: ")
			break
		}
	}
	body := s[strings.Index(s, "\n--")+1:]
	items, n, aerr := parseBatch(ctype, []byte(strings.ReplaceAll(body, "\n", "\r\n")))
	if aerr != nil {
		t.Fatal(aerr)
	}
	if n != 4 || len(items) != 2 || len(items[0].changeset) != 3 || items[1].single == nil {
		t.Fatalf("parsed %d requests in %d items", n, len(items))
	}
	for i, p := range items[0].changeset {
		if p.req.method != "POST" || p.req.path != "tasks" || p.contentID != []string{"1", "2", "3"}[i] ||
			!strings.Contains(string(p.req.body), "Task "+p.contentID+" in batch") {
			t.Errorf("changeset part %d = %+v %s", i, p.req, p.req.body)
		}
	}
	get := items[1].single.req
	if get.method != "GET" || get.path != "accounts(00000000-0000-0000-0000-000000000001)/Account_Tasks" || get.query.Get("$select") != "subject" {
		t.Errorf("GET part = %+v", get)
	}
}
