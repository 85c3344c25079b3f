package orderpush

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/d365sap/d365sap/shared/problem"
)

// The order a push works from travels in its ledger entry, so the queue resumes from exactly what the caller
// pushed (a correction pushed again replaces it). A Table string property holds 64 KiB of UTF-16, 32,768 code
// units: small orders are stored as JSON, larger ones compressed, and the largest in the archive with the entry
// naming the blob. Both limits count code units (a JSON byte is at most one; base64 is ASCII).
const (
	inlineLimit     = 30_000
	compressedLimit = 32_000
	gzPrefix        = "gz:"
	blobPrefix      = "blob:"
)

func (s *Service) packOrder(ctx context.Context, o *Order) (string, error) {
	b, err := json.Marshal(o)
	if err != nil {
		return "", fmt.Errorf("encoding order %s: %w", o.SalesOrderID, err)
	}
	if len(b) <= inlineLimit {
		return string(b), nil
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	if err := zw.Close(); err != nil {
		return "", fmt.Errorf("compressing order %s: %w", o.SalesOrderID, err)
	}
	if enc := gzPrefix + base64.StdEncoding.EncodeToString(buf.Bytes()); len(enc) <= compressedLimit {
		return enc, nil
	}
	name, err := s.Archive.Put(ctx, Kind, o.SalesOrderID, "order", s.now(), invocationID(ctx), o)
	if err != nil {
		return "", problem.Wrap(problem.Unavailable, err, "archiving order %s", o.SalesOrderID)
	}
	return blobPrefix + name, nil
}

func (s *Service) unpackOrder(ctx context.Context, p string) (*Order, error) {
	var o Order
	switch {
	case strings.HasPrefix(p, blobPrefix):
		if err := s.Archive.Get(ctx, strings.TrimPrefix(p, blobPrefix), &o); err != nil {
			return nil, problem.Wrap(problem.Unavailable, err, "reading the archived order")
		}
		return &o, nil
	case strings.HasPrefix(p, gzPrefix):
		raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(p, gzPrefix))
		if err != nil {
			return nil, problem.Wrap(problem.Internal, err, "decoding the stored order")
		}
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, problem.Wrap(problem.Internal, err, "decompressing the stored order")
		}
		b, err := io.ReadAll(io.LimitReader(zr, 32<<20))
		if err != nil {
			return nil, problem.Wrap(problem.Internal, err, "decompressing the stored order")
		}
		p = string(b)
	}
	dec := json.NewDecoder(strings.NewReader(p))
	dec.UseNumber()
	if err := dec.Decode(&o); err != nil {
		return nil, problem.Wrap(problem.Internal, err, "decoding the stored order")
	}
	return &o, nil
}
