package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"sync"

	"github.com/helpdeskd/helpdeskd/gateway"
)

// leaseSet is the leases this node holds, for /readyz.
type leaseSet struct {
	mu   sync.Mutex
	held map[string]bool
}

func (s *leaseSet) set(name string, held bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held == nil {
		s.held = map[string]bool{}
	}
	s.held[name] = held
}

// list returns the names of the leases held, sorted.
func (s *leaseSet) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []string{}
	for name, held := range s.held {
		if held {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// nodeName names this daemon among the nodes of one database: host, process and a random
// part, so that a restarted process on the same host is a new holder.
func nodeName() string {
	host, _ := os.Hostname()
	var b [4]byte
	rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// singleton returns run as a part that runs on one node at a time: under lease name when
// the store elects (several nodes share a Postgres database), else at once, this node
// being the only one.
func (m *Main) singleton(name string, run func(context.Context) error) func(context.Context) error {
	held := func(h bool) {
		m.leases.set(name, h)
		m.Metrics.SetLeaseHeld(name, h)
	}
	leases, ok := m.DB.(gateway.Leases)
	if !ok {
		return func(ctx context.Context) error {
			held(true)
			defer held(false)
			return run(ctx)
		}
	}
	opts := gateway.LeaderOptions{Lease: name, Holder: m.node, TTL: m.Config.Database.LeaseTTL.D(), Held: held,
		Logger: m.Logger.With("part", "lease")}
	return func(ctx context.Context) error { return gateway.RunLeader(ctx, leases, opts, run) }
}
