package funchost

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue/queueerror"
	"github.com/google/uuid"
)

// storage keeps one client per connection string and remembers which queues and containers exist.
type storage struct {
	settings map[string]string

	mu      sync.Mutex
	queues  map[string]*azqueue.ServiceClient
	blobs   map[string]*azblob.Client
	created map[string]bool
}

func newStorage(settings map[string]string) *storage {
	return &storage{settings: settings, queues: map[string]*azqueue.ServiceClient{},
		blobs: map[string]*azblob.Client{}, created: map[string]bool{}}
}

func (s *storage) queueService(connection string) (*azqueue.ServiceClient, error) {
	conn, err := storageConnection(s.settings, connection)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.queues[conn]; ok {
		return c, nil
	}
	c, err := azqueue.NewServiceClientFromConnectionString(conn, nil)
	if err != nil {
		return nil, fmt.Errorf("creating the queue client: %w", err)
	}
	s.queues[conn] = c
	return c, nil
}

func (s *storage) blobService(connection string) (*azblob.Client, error) {
	conn, err := storageConnection(s.settings, connection)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.blobs[conn]; ok {
		return c, nil
	}
	c, err := azblob.NewClientFromConnectionString(conn, nil)
	if err != nil {
		return nil, fmt.Errorf("creating the blob client: %w", err)
	}
	s.blobs[conn] = c
	return c, nil
}

// queue returns a client for a queue, creating the queue the first time, as the host's bindings do.
func (s *storage) queue(ctx context.Context, connection, name string) (*azqueue.QueueClient, error) {
	svc, err := s.queueService(connection)
	if err != nil {
		return nil, err
	}
	q := svc.NewQueueClient(name)
	key := "q|" + svc.URL() + "|" + name
	s.mu.Lock()
	done := s.created[key]
	s.mu.Unlock()
	if !done {
		if _, err := q.Create(ctx, nil); err != nil && !isCode(err, string(queueerror.QueueAlreadyExists)) {
			return nil, fmt.Errorf("creating queue %s: %w", name, err)
		}
		s.mu.Lock()
		s.created[key] = true
		s.mu.Unlock()
	}
	return q, nil
}

func isCode(err error, code string) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.ErrorCode == code
}

// encodeMessage turns message bytes into queue message text per messageEncoding.
func (h *Host) encodeMessage(b []byte) string {
	if h.cfg.queues.base64 {
		return base64.StdEncoding.EncodeToString(b)
	}
	return string(b)
}

func (h *Host) writeQueueOutput(ctx context.Context, inv *invocation, b binding, v outputValue) error {
	name, err := expandBindingExpr(b.QueueName, inv)
	if err != nil {
		return err
	}
	q, err := h.storage.queue(ctx, b.Connection, strings.ToLower(name))
	if err != nil {
		return err
	}
	for _, m := range queueMessages(v) {
		if _, err := q.EnqueueMessage(ctx, h.encodeMessage(m), nil); err != nil {
			return fmt.Errorf("enqueueing to %s: %w", name, err)
		}
	}
	return nil
}

func (h *Host) writeBlobOutput(ctx context.Context, inv *invocation, b binding, v outputValue) error {
	path, err := expandBindingExpr(b.Path, inv)
	if err != nil {
		return err
	}
	container, blob, ok := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	if !ok || container == "" || blob == "" {
		return fmt.Errorf("resolving blob path %q: want container/name", path)
	}
	c, err := h.storage.blobService(b.Connection)
	if err != nil {
		return err
	}
	if err := h.ensureContainer(ctx, c, container); err != nil {
		return err
	}
	if _, err := c.UploadBuffer(ctx, container, blob, v.text(), nil); err != nil {
		return fmt.Errorf("uploading blob %s: %w", path, err)
	}
	return nil
}

// ensureContainer creates a blob container the first time the host writes to it.
func (h *Host) ensureContainer(ctx context.Context, c *azblob.Client, container string) error {
	key := "b|" + c.URL() + "|" + container
	h.storage.mu.Lock()
	done := h.storage.created[key]
	h.storage.mu.Unlock()
	if done {
		return nil
	}
	if _, err := c.CreateContainer(ctx, container, nil); err != nil && !isCode(err, string(bloberror.ContainerAlreadyExists)) {
		return fmt.Errorf("creating container %s: %w", container, err)
	}
	h.storage.mu.Lock()
	h.storage.created[key] = true
	h.storage.mu.Unlock()
	return nil
}

var bindingExpr = regexp.MustCompile(`\{([^{}]+)\}`)

// expandBindingExpr fills {…} binding expressions from the trigger's data; %SETTING% was resolved at load time.
func expandBindingExpr(s string, inv *invocation) (string, error) {
	var missing []string
	out := bindingExpr.ReplaceAllStringFunc(s, func(m string) string {
		key := strings.ToLower(strings.TrimSpace(m[1 : len(m)-1]))
		switch key {
		case "rand-guid":
			return uuid.NewString()
		case "datetime":
			return time.Now().UTC().Format("2006-01-02T15-04-05Z")
		}
		if v, ok := inv.bindingData[key]; ok {
			return v
		}
		missing = append(missing, m)
		return ""
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("resolving %q: no binding data for %s", s, strings.Join(missing, ", "))
	}
	return out, nil
}

// dequeueVisibility hides a message while its invocation runs; the host renews a lease like this one.
const dequeueVisibility = 10 * time.Minute

func seconds(d time.Duration) *int32 { return to.Ptr(int32(d / time.Second)) }
