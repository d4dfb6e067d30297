package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// healthTimeout bounds one probe: a container runtime kills a check that hangs anyway, and
// a daemon that needs this long to answer is not healthy.
const healthTimeout = 5 * time.Second

// health asks the daemon configured like this command for /healthz (or /readyz with
// -ready) and fails unless it answers 200. It is the HEALTHCHECK of an image that has no
// shell or curl: the daemon's own binary is the probe.
func health(ctx context.Context, args []string, stdout, stderr io.Writer, env []string) error {
	ready := false
	cfg, err := parseConfig("health", args, stderr, env, func(fs *flag.FlagSet) {
		fs.BoolVar(&ready, "ready", false, "ask /readyz (the database takes writes) instead of /healthz")
	})
	if err != nil {
		return err
	}
	host, port, err := net.SplitHostPort(cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("server.listen %q: %w", cfg.Server.Listen, err)
	}
	// A daemon listening on every interface answers on loopback.
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	path := "/healthz"
	if ready {
		path = "/readyz"
	}
	url := "http://" + net.JoinHostPort(host, port) + path
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", url, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	fmt.Fprintf(stdout, "%s: %s\n", url, resp.Status)
	return nil
}
