package dataverse

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/d365sap/d365sap/infra/local/kit"
)

func kitSample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(kit.Dir(t, "dataverse"), "dataverse", "samples", name))
	if err != nil {
		t.Fatalf("reading the kit's sample %s: %v", name, err)
	}
	return b
}

// batchBody turns a stored sample (LF endings, status line first) into a multipart body and its boundary.
func batchBody(raw []byte) ([]byte, string) {
	s := strings.ReplaceAll(string(raw), "\r\n", "\n")
	i := strings.Index(s, "\n--")
	s = s[i+1:]
	boundary := strings.TrimPrefix(strings.SplitN(s, "\n", 2)[0], "--")
	return []byte(strings.ReplaceAll(s, "\n", "\r\n")), boundary
}

// The client reads Microsoft's documented $batch responses.
func TestDecodeDocumentedBatchResponses(t *testing.T) {
	create := func() Op { return CreateOp("tasks", Record{"subject": "x"}) }
	t.Run("continue on error", func(t *testing.T) {
		body, boundary := batchBody(kitSample(t, "batch-continue-on-error-response.http"))
		b := (&Batch{}).Add(create(), create(), create())
		res, err := decodeBatch(b, body, boundary)
		if err != nil {
			t.Fatal(err)
		}
		var e *Error
		if !errors.As(res[0].Err, &e) || e.Status != 400 || e.Code != "0x80044331" || e.Kind != KindBadRequest {
			t.Errorf("op 0 = %+v", res[0])
		}
		if res[1].Err != nil || res[1].ID != "aed2ae8b-3c94-ed11-aad1-000d3a9933c9" || res[2].ID != "b181a991-3c94-ed11-aad1-000d3a9933c9" {
			t.Errorf("ops 1-2 = %+v", res[1:])
		}
	})
	t.Run("stop on error", func(t *testing.T) {
		body, boundary := batchBody(kitSample(t, "batch-stop-on-error-response.http"))
		b := (&Batch{}).Add(create(), create(), create())
		res, err := decodeBatch(b, body, boundary)
		if err != nil {
			t.Fatal(err)
		}
		if !IsKind(res[0].Err, KindBadRequest) || !errors.Is(res[1].Err, ErrNotRun) || !errors.Is(res[2].Err, ErrNotRun) {
			t.Errorf("results = %+v", res)
		}
	})
	t.Run("changeset and a read", func(t *testing.T) {
		body, boundary := batchBody(kitSample(t, "batch-changeset-response.http"))
		b := (&Batch{}).ChangeSet(create(), create(), create()).Add(Op{method: http.MethodGet, path: "tasks"})
		res, err := decodeBatch(b, body, boundary)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"e73ffc82-e292-ed11-aad1-000d3a9933c9", "e83ffc82-e292-ed11-aad1-000d3a9933c9", "e93ffc82-e292-ed11-aad1-000d3a9933c9"}
		for i, id := range want {
			if res[i].Err != nil || res[i].ID != id || res[i].ContentID != []string{"1", "2", "3"}[i] {
				t.Errorf("op %d = %+v", i, res[i])
			}
		}
		if res[3].Status != 200 || len(res[3].Record["value"].([]any)) != 3 {
			t.Errorf("read = %+v", res[3])
		}
	})
}
