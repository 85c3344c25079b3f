package canary

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
)

// Storage reads, through one connection string, every table, blob container and queue whose name starts with
// prefix, and hands each entity, blob and message to a Scan. Give each app its own prefix for all its names
// (tables allow letters and digits only, so the prefix should be lowercase letters and digits).
type Storage struct {
	Conn   string
	Prefix string
	Scan   *Scan
}

// Entities checks every entity of every table with the prefix, each as the JSON the service returns.
func (s Storage) Entities(ctx context.Context) error {
	svc, err := aztables.NewServiceClientFromConnectionString(s.Conn, nil)
	if err != nil {
		return fmt.Errorf("connecting to tables: %w", err)
	}
	tables := svc.NewListTablesPager(nil)
	for tables.More() {
		page, err := tables.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("listing tables: %w", err)
		}
		for _, tp := range page.Tables {
			name := *tp.Name
			if !strings.HasPrefix(name, s.Prefix) {
				continue
			}
			entities := svc.NewClient(name).NewListEntitiesPager(nil)
			for entities.More() {
				ep, err := entities.NextPage(ctx)
				if err != nil {
					return fmt.Errorf("listing the entities of %s: %w", name, err)
				}
				for _, e := range ep.Entities {
					var key struct{ PartitionKey, RowKey string }
					_ = json.Unmarshal(e, &key)
					s.Scan.Check("entity", name+"/"+key.PartitionKey+"/"+key.RowKey, e)
				}
			}
		}
	}
	return nil
}

// Blobs checks every blob of every container with the prefix (a gzip blob is searched decompressed as well).
func (s Storage) Blobs(ctx context.Context) error {
	c, err := azblob.NewClientFromConnectionString(s.Conn, nil)
	if err != nil {
		return fmt.Errorf("connecting to blobs: %w", err)
	}
	containers := c.NewListContainersPager(&azblob.ListContainersOptions{Prefix: &s.Prefix})
	for containers.More() {
		page, err := containers.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("listing containers: %w", err)
		}
		for _, ci := range page.ContainerItems {
			container := *ci.Name
			blobs := c.NewListBlobsFlatPager(container, nil)
			for blobs.More() {
				bp, err := blobs.NextPage(ctx)
				if err != nil {
					return fmt.Errorf("listing the blobs of %s: %w", container, err)
				}
				for _, bi := range bp.Segment.BlobItems {
					resp, err := c.DownloadStream(ctx, container, *bi.Name, nil)
					if err != nil {
						return fmt.Errorf("reading blob %s/%s: %w", container, *bi.Name, err)
					}
					b, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					if err != nil {
						return fmt.Errorf("reading blob %s/%s: %w", container, *bi.Name, err)
					}
					s.Scan.Check("blob", container+"/"+*bi.Name, b)
				}
			}
		}
	}
	return nil
}

// Peek checks the messages visible now on every queue with the prefix (up to 32 each, the most a peek returns)
// that seen does not hold yet, and adds them to it. Called repeatedly while the app runs, it sees messages the
// app consumes before the end.
func (s Storage) Peek(ctx context.Context, seen map[string]bool) error {
	svc, err := azqueue.NewServiceClientFromConnectionString(s.Conn, nil)
	if err != nil {
		return fmt.Errorf("connecting to queues: %w", err)
	}
	return s.eachQueue(ctx, svc, func(name string, q *azqueue.QueueClient) error {
		n := int32(32)
		resp, err := q.PeekMessages(ctx, &azqueue.PeekMessagesOptions{NumberOfMessages: &n})
		if err != nil {
			return fmt.Errorf("peeking %s: %w", name, err)
		}
		for _, m := range resp.Messages {
			id := name + "/" + *m.MessageID
			if seen[id] {
				continue
			}
			seen[id] = true
			s.Scan.Check("queue message", id, []byte(*m.MessageText))
		}
		return nil
	})
}

// Drain checks every message left on the queues with the prefix, invisible ones too: it dequeues (the app must
// be stopped) until it has taken as many as each queue holds, waiting up to within for delayed messages to
// become visible. It fails naming any queue whose messages stayed invisible.
func (s Storage) Drain(ctx context.Context, seen map[string]bool, within time.Duration) error {
	svc, err := azqueue.NewServiceClientFromConnectionString(s.Conn, nil)
	if err != nil {
		return fmt.Errorf("connecting to queues: %w", err)
	}
	deadline := time.Now().Add(within)
	return s.eachQueue(ctx, svc, func(name string, q *azqueue.QueueClient) error {
		props, err := q.GetProperties(ctx, nil)
		if err != nil {
			return fmt.Errorf("reading the properties of %s: %w", name, err)
		}
		want, taken := int(*props.ApproximateMessagesCount), 0
		for taken < want {
			n, hide := int32(32), int32(600)
			resp, err := q.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: &n, VisibilityTimeout: &hide})
			if err != nil {
				return fmt.Errorf("dequeuing %s: %w", name, err)
			}
			for _, m := range resp.Messages {
				taken++
				id := name + "/" + *m.MessageID
				if !seen[id] {
					seen[id] = true
					s.Scan.Check("queue message", id, []byte(*m.MessageText))
				}
			}
			if len(resp.Messages) == 0 {
				if time.Now().After(deadline) {
					return fmt.Errorf("%d of %d messages on %s stayed invisible for %s", want-taken, want, name, within)
				}
				time.Sleep(250 * time.Millisecond)
			}
		}
		return nil
	})
}

func (s Storage) eachQueue(ctx context.Context, svc *azqueue.ServiceClient, f func(string, *azqueue.QueueClient) error) error {
	pager := svc.NewListQueuesPager(&azqueue.ListQueuesOptions{Prefix: &s.Prefix})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("listing queues: %w", err)
		}
		for _, qi := range page.Queues {
			if err := f(*qi.Name, svc.NewQueueClient(*qi.Name)); err != nil {
				return err
			}
		}
	}
	return nil
}
