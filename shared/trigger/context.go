package trigger

import (
	"context"
	"log/slog"
)

type ctxKey struct{}

// Invocation identifies one run of a function.
type Invocation struct {
	ID       string
	Function string
}

// WithInvocation stores the invocation in the context.
func WithInvocation(ctx context.Context, inv Invocation) context.Context {
	return context.WithValue(ctx, ctxKey{}, inv)
}

// InvocationFrom reads the invocation from the context.
func InvocationFrom(ctx context.Context) (Invocation, bool) {
	inv, ok := ctx.Value(ctxKey{}).(Invocation)
	return inv, ok
}

// LogHandler adds the invocation id and the function name to every record logged with a context that carries
// them, so operators can follow one invocation across log lines.
type LogHandler struct {
	slog.Handler
}

// NewLogHandler wraps h.
func NewLogHandler(h slog.Handler) *LogHandler { return &LogHandler{Handler: h} }

// Handle adds the invocation attributes.
func (h *LogHandler) Handle(ctx context.Context, r slog.Record) error {
	if inv, ok := InvocationFrom(ctx); ok {
		r = r.Clone()
		r.AddAttrs(slog.String("invocation_id", inv.ID), slog.String("function", inv.Function))
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs keeps the wrapper.
func (h *LogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &LogHandler{Handler: h.Handler.WithAttrs(attrs)}
}

// WithGroup keeps the wrapper.
func (h *LogHandler) WithGroup(name string) slog.Handler {
	return &LogHandler{Handler: h.Handler.WithGroup(name)}
}
