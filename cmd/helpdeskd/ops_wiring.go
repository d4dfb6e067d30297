package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// blobSweepEvery is how often the blob store is swept of uploads nothing references (also
// once at start, for what a stop in between left behind).
const blobSweepEvery = time.Hour

// sweepBlobs removes, at start and then every blobSweepEvery until ctx ends, the blobs
// older than the store's staging grace that no attachment and no inbound record references.
// A failed sweep is logged and tried again next time: it must not stop the daemon.
func (m *Main) sweepBlobs(ctx context.Context) error {
	log := m.Logger.With("part", "blob sweep")
	tick := time.NewTicker(blobSweepEvery)
	defer tick.Stop()
	for {
		res, err := m.store.sweep(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			log.Warn("sweep unreferenced blobs", "removed", res.Removed, "err", err)
		case res.Removed > 0 || res.Temp > 0:
			log.Info("swept unreferenced blobs", "removed", res.Removed, "bytes", res.Bytes, "unfinished_uploads", res.Temp)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// openMetrics binds server.metrics_listen when metrics are moved off the API listener, and
// adds the part that serves them there.
func (m *Main) openMetrics() error {
	cfg := m.Config.Server
	if !cfg.Metrics || cfg.MetricsListen == "" {
		return nil
	}
	ln, err := net.Listen("tcp", cfg.MetricsListen)
	if err != nil {
		return fmt.Errorf("listen on %s (server.metrics_listen): %w", cfg.MetricsListen, err)
	}
	m.metricsLn = ln
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Metrics.Handler())
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       cfg.ReadTimeout.D(),
		WriteTimeout:      cfg.WriteTimeout.D(),
		ErrorLog:          slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn),
	}
	m.closers = append(m.closers, func() error {
		err := srv.Close()
		if cerr := ln.Close(); cerr != nil && !errors.Is(cerr, net.ErrClosed) {
			err = errors.Join(err, cerr)
		}
		return err
	})
	m.parts = append(m.parts, func(ctx context.Context) error {
		served := make(chan error, 1)
		go func() { served <- srv.Serve(ln) }()
		select {
		case err := <-served:
			return fmt.Errorf("metrics server: %w", err)
		case <-ctx.Done():
		}
		sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout.D())
		defer cancel()
		err := srv.Shutdown(sctx)
		<-served
		return err
	})
	return nil
}

// MetricsAddr returns the address of the metrics listener, "" when metrics are served on
// the API listener or not at all.
func (m *Main) MetricsAddr() string {
	if m.metricsLn == nil {
		return ""
	}
	return m.metricsLn.Addr().String()
}
