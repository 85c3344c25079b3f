package deadletter

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/d365sap/d365sap/infra/local/storetest"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/store"
	"github.com/d365sap/d365sap/shared/trigger"
)

func TestDeadLetterAgainstAzurite(t *testing.T) {
	ctx := context.Background()
	a := storetest.Account(t)
	container := storetest.Name(t, "dl")
	if err := a.EnsureContainer(ctx, container); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC)
	s := &Store{Blobs: a, Container: container, Now: func() time.Time { return at }}
	tests := []struct {
		name     string
		msg      trigger.Message
		wantText bool
	}{
		{"text message", trigger.Message{ID: "m-1", Body: []byte(`{"SalesOrder":"5000123"}`), DequeueCount: 1, Queue: "sap-events"}, true},
		{"binary message", trigger.Message{ID: "m/2", Body: []byte{0xff, 0x00, 0x01}, DequeueCount: 3}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ictx := trigger.WithInvocation(ctx, trigger.Invocation{ID: "inv-9", Function: "statusupdates"})
			cause := problem.New(problem.Invalid, "order 5000123 unknown in Dynamics")
			if err := s.DeadLetter(ictx, "statusupdates", tt.msg, cause); err != nil {
				t.Fatal(err)
			}
			// A redelivered message dead-lettered again is not an error and keeps the first letter.
			if err := s.DeadLetter(ictx, "statusupdates", tt.msg, errors.New("second")); err != nil {
				t.Fatalf("second write: %v", err)
			}
			b, err := a.GetBlob(ctx, container, Name("statusupdates", tt.msg, at))
			if err != nil {
				t.Fatal(err)
			}
			var l Letter
			if err := json.Unmarshal(b.Data, &l); err != nil {
				t.Fatal(err)
			}
			if l.MessageID != tt.msg.ID || l.Kind != "invalid" || l.InvocationID != "inv-9" || l.DequeueCount != tt.msg.DequeueCount || l.Reason != cause.Error() {
				t.Errorf("letter = %+v", l)
			}
			if tt.wantText && (l.Body == nil || *l.Body != string(tt.msg.Body)) {
				t.Errorf("text body = %v", l.Body)
			}
			if !tt.wantText && string(l.BodyBase64) != string(tt.msg.Body) {
				t.Errorf("binary body = %v", l.BodyBase64)
			}
		})
	}
}

func TestDeadLetterStorageDownIsAnError(t *testing.T) {
	s := &Store{Blobs: &fakeBlobs{CreateBlobFn: func(context.Context, string, string, []byte, *store.BlobOptions) (azcore.ETag, error) {
		return "", errors.New("connection refused")
	}}, Container: "dead-letters"}
	err := s.DeadLetter(context.Background(), "f", trigger.Message{ID: "x", Body: []byte("y")}, errors.New("cause"))
	if err == nil {
		t.Fatal("a failed write must be reported so the message is not acknowledged")
	}
}
