package funchost

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/d365sap/d365sap/infra/local/storetest"
)

// testStorage is the Azurite connection string, or a skip (a failure under CI).
func testStorage(t *testing.T) string { return storetest.ConnectionString(t) }

// queueFor returns an emptied queue, so that each test sees only its own messages.
func queueFor(t *testing.T, conn, name string) *azqueue.QueueClient {
	t.Helper()
	svc, err := azqueue.NewServiceClientFromConnectionString(conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	q := svc.NewQueueClient(name)
	ctx := context.Background()
	if _, err := q.Create(ctx, nil); err != nil && !isCode(err, "QueueAlreadyExists") {
		t.Fatal(err)
	}
	if _, err := q.ClearMessages(ctx, nil); err != nil {
		t.Fatal(err)
	}
	return q
}

// receive waits for n messages on q and returns their decoded (base64) contents.
func receive(t *testing.T, q *azqueue.QueueClient, n int, within time.Duration) []string {
	t.Helper()
	var got []string
	eventually(t, within, func() error {
		resp, err := q.DequeueMessages(context.Background(), &azqueue.DequeueMessagesOptions{NumberOfMessages: to.Ptr(int32(32))})
		if err != nil {
			return err
		}
		for _, m := range resp.Messages {
			b, err := base64.StdEncoding.DecodeString(*m.MessageText)
			if err != nil {
				t.Fatalf("message %q is not base64: %v", *m.MessageText, err)
			}
			got = append(got, string(b))
			q.DeleteMessage(context.Background(), *m.MessageID, *m.PopReceipt, nil)
		}
		if len(got) < n {
			return fmt.Errorf("%d of %d messages", len(got), n)
		}
		return nil
	})
	return got
}

func queueLength(t *testing.T, q *azqueue.QueueClient) int {
	t.Helper()
	p, err := q.GetProperties(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return int(*p.ApproximateMessagesCount)
}

// storageSettings gives each host its own host id, so that timer status records of one test do not leak into
// another.
func storageSettings(conn, schedule string) map[string]string {
	return map[string]string{SettingStorage: conn, "ECHO_QUEUE": "echo-out", "TICK_SCHEDULE": schedule,
		SettingHostID: "test-" + strconv.FormatInt(time.Now().UnixNano(), 36)}
}

// never is a schedule that does not fire during a test.
const never = "0 0 0 1 1 *"

func TestQueueTrigger(t *testing.T) {
	conn := testStorage(t)
	in := queueFor(t, conn, "work-items")
	done := queueFor(t, conn, "work-done")
	startHost(t, makeDist(t, "storage", hostJSON(false), testHandler(t)), storageSettings(conn, never))

	tests := []struct{ name, message string }{
		{"json", `{"order":"4711","qty":"1.50","note":"<b>&</b>"}`},
		{"plain text", "hello queue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Enqueued as a producer does for messageEncoding base64.
			if _, err := in.EnqueueMessage(context.Background(), base64.StdEncoding.EncodeToString([]byte(tt.message)), nil); err != nil {
				t.Fatal(err)
			}
			msgs := receive(t, done, 1, 15*time.Second)
			var got struct {
				Text, Raw, DequeueCount, DequeueCountRaw, ID, IDRaw, InsertionTime, SysMethod string
			}
			if err := json.Unmarshal([]byte(msgs[0]), &got); err != nil {
				t.Fatalf("decoding %q: %v", msgs[0], err)
			}
			if got.Text != tt.message {
				t.Errorf("the handler read %q, want %q", got.Text, tt.message)
			}
			// Data.msg is the message serialised as a JSON string, then put in the body as a string again.
			var once, twice string
			if err := json.Unmarshal([]byte(got.Raw), &once); err != nil {
				t.Fatalf("Data.msg %s is not a JSON string: %v", got.Raw, err)
			}
			if err := json.Unmarshal([]byte(once), &twice); err != nil || twice != tt.message {
				t.Errorf("Data.msg %s is not the message encoded twice (inner %q, %v)", got.Raw, twice, err)
			}
			if got.DequeueCountRaw != `"1"` || got.DequeueCount != "1" {
				t.Errorf("DequeueCount metadata = %s, want \"1\"", got.DequeueCountRaw)
			}
			if !strings.HasPrefix(got.IDRaw, `"\"`) || got.ID == "" {
				t.Errorf("Id metadata = %s, want a quoted string inside a string", got.IDRaw)
			}
			if _, err := time.Parse(time.RFC3339, got.InsertionTime); err != nil {
				t.Errorf("InsertionTime %q: %v", got.InsertionTime, err)
			}
			if got.SysMethod != "work" {
				t.Errorf("sys.MethodName = %q", got.SysMethod)
			}
			eventually(t, 5*time.Second, func() error {
				if n := queueLength(t, in); n != 0 {
					return fmt.Errorf("%d messages left in the trigger queue", n)
				}
				return nil
			})
		})
	}
}

func TestQueuePoison(t *testing.T) {
	conn := testStorage(t)
	in := queueFor(t, conn, "fail-items")
	poison := queueFor(t, conn, "fail-items-poison")
	side := queueFor(t, conn, "fail-side")
	h := startHost(t, makeDist(t, "storage", hostJSON(false), testHandler(t)), storageSettings(conn, never))

	message := `{"order":"4712","qty":"2.000"}`
	encoded := base64.StdEncoding.EncodeToString([]byte(message))
	if _, err := in.EnqueueMessage(context.Background(), encoded, nil); err != nil {
		t.Fatal(err)
	}
	// maxDequeueCount 3 with a one-second visibility timeout: three attempts, then the poison queue.
	got := receive(t, poison, 1, 20*time.Second)
	if got[0] != message {
		t.Errorf("poison message = %q, want %q", got[0], message)
	}
	if n := strings.Count(h.log.String(), "fail failing on purpose"); n != 3 {
		t.Errorf("%d attempts, want maxDequeueCount = 3", n)
	}
	if n := queueLength(t, in); n != 0 {
		t.Errorf("%d messages left in the trigger queue", n)
	}
	if n := queueLength(t, side); n != 0 {
		t.Errorf("a failed invocation wrote %d output messages", n)
	}

	// A message that is not base64 fails the same way without reaching the handler, and keeps its text.
	if _, err := in.EnqueueMessage(context.Background(), "not base64!", nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, func() error {
		resp, err := poison.DequeueMessages(context.Background(), nil)
		if err != nil {
			return err
		}
		if len(resp.Messages) == 0 {
			return errors.New("not in the poison queue yet")
		}
		if txt := *resp.Messages[0].MessageText; txt != "not base64!" {
			t.Errorf("poison text = %q", txt)
		}
		return nil
	})
	if n := strings.Count(h.log.String(), "fail failing on purpose"); n != 3 {
		t.Errorf("the handler saw the undecodable message (%d attempts in all)", n)
	}
}

type tick struct {
	InvocationID   string `json:"invocationId"`
	IsPastDue      bool   `json:"isPastDue"`
	Concurrent     int    `json:"concurrent"`
	HasSchedule    bool   `json:"hasSchedule"`
	ScheduleStatus string `json:"scheduleStatus"`
}

func decodeTicks(t *testing.T, msgs []string) []tick {
	t.Helper()
	var ticks []tick
	for _, m := range msgs {
		var tk tick
		if err := json.Unmarshal([]byte(m), &tk); err != nil {
			t.Fatalf("decoding %q: %v", m, err)
		}
		ticks = append(ticks, tk)
	}
	return ticks
}

func TestTimerOnSchedule(t *testing.T) {
	conn := testStorage(t)
	ticks := queueFor(t, conn, "ticks")
	start := time.Now()
	h := startHost(t, makeDist(t, "storage", hostJSON(false), testHandler(t)), storageSettings(conn, "*/2 * * * * *"))
	got := decodeTicks(t, receive(t, ticks, 2, 10*time.Second))
	if elapsed := time.Since(start); elapsed > 8*time.Second {
		t.Errorf("two runs took %s on a two-second schedule", elapsed)
	}
	for _, tk := range got {
		if tk.IsPastDue || !tk.HasSchedule || tk.InvocationID == "" || tk.Concurrent != 1 {
			t.Errorf("tick %+v", tk)
		}
		// Schedules recurring more often than once a minute are not monitored: ScheduleStatus is null.
		if tk.ScheduleStatus != "null" {
			t.Errorf("ScheduleStatus = %s, want null", tk.ScheduleStatus)
		}
	}
	if !strings.Contains(h.log.String(), `"line":"tick ran"`) {
		t.Error("the timer's Logs were not printed")
	}
}

func TestAdminInvoke(t *testing.T) {
	conn := testStorage(t)
	ticks := queueFor(t, conn, "ticks")
	work := queueFor(t, conn, "work-done")
	h := startHost(t, makeDist(t, "storage", hostJSON(false), testHandler(t)), storageSettings(conn, never))

	tests := []struct {
		name, path, key, body string
		want                  int
	}{
		{"no key", "/admin/functions/tick", "", `{}`, 401},
		{"function key is not enough", "/admin/functions/tick", DefaultFunctionKey, `{}`, 401},
		{"unknown function", "/admin/functions/nope", DefaultMasterKey, `{}`, 404},
		{"http function", "/admin/functions/echo", DefaultMasterKey, `{}`, 400},
		{"queue function with input", "/admin/functions/work", DefaultMasterKey, `{"input":"from admin"}`, 202},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := do(t, "POST", h.base+tt.path, map[string]string{"x-functions-key": tt.key}, tt.body)
			if status != tt.want {
				t.Errorf("status %d, want %d (%q)", status, tt.want, body)
			}
		})
	}
	if msgs := receive(t, work, 1, 10*time.Second); !strings.Contains(msgs[0], `"text":"from admin"`) {
		t.Errorf("admin queue run gave %q", msgs[0])
	}

	// Three admin calls at once still run one at a time.
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if status, _, _ := do(t, "POST", h.base+"/admin/functions/tick", map[string]string{"x-functions-key": DefaultMasterKey}, `{"input":""}`); status != 202 {
				t.Errorf("admin tick: status %d", status)
			}
		}()
	}
	wg.Wait()
	got := decodeTicks(t, receive(t, ticks, 3, 10*time.Second))
	if len(got) != 3 {
		t.Fatalf("%d runs, want 3", len(got))
	}
	for _, tk := range got {
		if tk.Concurrent != 1 {
			t.Errorf("a timer run overlapped another: %+v", tk)
		}
		// A yearly schedule is monitored: ScheduleStatus is an object.
		if !strings.HasPrefix(tk.ScheduleStatus, "{") {
			t.Errorf("ScheduleStatus = %s, want an object", tk.ScheduleStatus)
		}
	}
}

func TestWrappedHTTPOutputs(t *testing.T) {
	conn := testStorage(t)
	out := queueFor(t, conn, "echo-out")
	h := startHost(t, makeDist(t, "storage", hostJSON(true), testHandler(t)), storageSettings(conn, never))

	// Forwarding is on, but echo has queue and blob outputs, so the host wraps it.
	status, hdr, body := do(t, "POST", h.base+"/api/echo/7", map[string]string{"Content-Type": "text/plain"}, "payload")
	if status != 201 || hdr.Get("X-Echo") != "yes" {
		t.Fatalf("status %d, X-Echo %q, body %q", status, hdr.Get("X-Echo"), body)
	}
	var got struct {
		Mode   string `json:"mode"`
		MetaID string `json:"metaId"`
		Body   string `json:"body"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if got.Mode != "wrapped" || got.Body != "payload" || got.MetaID != `"\"7\""` {
		t.Errorf("echo answered %+v", got)
	}
	if msgs := receive(t, out, 1, 5*time.Second); msgs[0] != `{"body":"payload","id":"7"}` {
		t.Errorf("queue output %q", msgs[0])
	}
	bc, err := azblob.NewClientFromConnectionString(conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := bc.DownloadStream(context.Background(), "echo", "7.json", nil)
	if err != nil {
		t.Fatalf("downloading the blob output: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != `{"id":"7"}` {
		t.Errorf("blob output %q", b)
	}
	if !strings.Contains(h.log.String(), `"line":"echo logged 7"`) {
		t.Error("Logs not printed")
	}
	if status, _, _ := do(t, "POST", h.base+"/api/echo/seven", nil, "x"); status != 404 {
		t.Errorf("int constraint: status %d, want 404", status)
	}
}

func TestTimerRetryPolicy(t *testing.T) {
	conn := testStorage(t)
	out := queueFor(t, conn, "flaky-out")
	h := startHost(t, makeDist(t, "storage", hostJSON(false), testHandler(t)), storageSettings(conn, never))
	if status, _, _ := do(t, "POST", h.base+"/admin/functions/flaky", map[string]string{"x-functions-key": DefaultMasterKey}, `{}`); status != 202 {
		t.Fatalf("admin call: status %d", status)
	}
	msgs := receive(t, out, 1, 10*time.Second)
	var got struct {
		RetryCount    int    `json:"retryCount"`
		MaxRetryCount int    `json:"maxRetryCount"`
		Exception     string `json:"exception"`
	}
	if err := json.Unmarshal([]byte(msgs[0]), &got); err != nil {
		t.Fatal(err)
	}
	if got.RetryCount != 2 || got.MaxRetryCount != 2 || !strings.Contains(got.Exception, "500") {
		t.Errorf("retry context on the last attempt: %+v", got)
	}
	if n := strings.Count(h.log.String(), `"msg":"retrying","function":"flaky"`); n != 2 {
		t.Errorf("%d retries logged, want 2", n)
	}
}

func TestTimerPastDue(t *testing.T) {
	conn := testStorage(t)
	out := queueFor(t, conn, "daily-out")
	settings := storageSettings(conn, never)
	// A status recorded by an earlier run whose next occurrence has passed while no host ran.
	bc, err := azblob.NewClientFromConnectionString(conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := bc.CreateContainer(ctx, "azure-webjobs-hosts", nil); err != nil && !isCode(err, "ContainerAlreadyExists") {
		t.Fatal(err)
	}
	blob := "timers/" + settings[SettingHostID] + "/Host.Functions.daily/status"
	old := `{"Last":"2026-01-01T03:00:00Z","Next":"2026-01-02T03:00:00Z","LastUpdated":"2026-01-01T03:00:01Z"}`
	if _, err := bc.UploadBuffer(ctx, "azure-webjobs-hosts", blob, []byte(old), nil); err != nil {
		t.Fatal(err)
	}
	startHost(t, makeDist(t, "storage", hostJSON(false), testHandler(t)), settings)

	got := decodeTicks(t, receive(t, out, 1, 10*time.Second))[0]
	if !got.IsPastDue {
		t.Errorf("IsPastDue false for a missed occurrence: %+v", got)
	}
	var st struct{ Last, Next string }
	if err := json.Unmarshal([]byte(got.ScheduleStatus), &st); err != nil || st.Next != "2026-01-02T03:00:00Z" || st.Last != "2026-01-01T03:00:00Z" {
		t.Errorf("ScheduleStatus %s (%v), want the recorded one", got.ScheduleStatus, err)
	}
	// After the run the host records the new status: Last now, Next the next 03:00.
	eventually(t, 5*time.Second, func() error {
		resp, err := bc.DownloadStream(ctx, "azure-webjobs-hosts", blob, nil)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var doc struct{ Last, Next time.Time }
		if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
			return err
		}
		if time.Since(doc.Last) > time.Minute || doc.Next.Hour() != 3 || !doc.Next.After(time.Now()) {
			return fmt.Errorf("status not updated: %+v", doc)
		}
		return nil
	})
}

func TestTimerRunOnStartup(t *testing.T) {
	conn := testStorage(t)
	ticks := queueFor(t, conn, "ticks")
	dist := makeDist(t, "storage", hostJSON(false), testHandler(t))
	fj := `{"bindings":[{"type":"timerTrigger","direction":"in","name":"timer","schedule":"%TICK_SCHEDULE%","runOnStartup":true},
             {"type":"queue","direction":"out","name":"ticks","queueName":"ticks"}]}`
	if err := os.WriteFile(filepath.Join(dist, "tick", "function.json"), []byte(fj), 0o644); err != nil {
		t.Fatal(err)
	}
	startHost(t, dist, storageSettings(conn, never))
	got := decodeTicks(t, receive(t, ticks, 1, 10*time.Second))
	if len(got) != 1 || got[0].IsPastDue {
		t.Errorf("runOnStartup gave %+v", got)
	}
	time.Sleep(time.Second)
	if n := queueLength(t, ticks); n != 0 {
		t.Errorf("%d more runs after the start-up run of a yearly schedule", n)
	}
}
