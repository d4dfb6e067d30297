package core

import "context"

// A Fence proves that a write is the work of the node holding a lease (the one IMAP poller
// of a mailbox, the one Telegram poller among several nodes): the lease's name, the node
// holding it and the fence number it was given when it took the lease. A store shared by
// several nodes refuses, with EUNAVAILABLE, a write whose fence is no longer the lease's
// current one, so a node that was paused past its lease cannot commit what it fetched
// before another node took over.
type Fence struct {
	Lease  string
	Holder string
	Number int64
}

type fenceKey struct{}

// WithFence returns ctx carrying f: the writes of a store that checks fences, made with
// that context, commit only while f holds.
func WithFence(ctx context.Context, f Fence) context.Context {
	return context.WithValue(ctx, fenceKey{}, f)
}

// FenceFrom returns the fence ctx carries, if any.
func FenceFrom(ctx context.Context) (Fence, bool) {
	f, ok := ctx.Value(fenceKey{}).(Fence)
	return f, ok
}
