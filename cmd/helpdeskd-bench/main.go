// Command helpdeskd-bench measures helpdeskd on the machine it runs on and prints the figures
// as a Markdown table (or JSON with -json): ticket creation over HTTP (JSON, and multipart
// with a file), list pages and ticket details on pre-filled desks, and the floor — the same
// durable one-row transactions done directly on SQLite with the daemon's pragmas, in the same
// run — with every API figure as a ratio to that floor.
//
// The daemon runs inside this process, wired as `helpdeskd serve` wires it (sqlite.Open →
// core.NewService → httpapi.New on a loopback listener), against a temporary database. The
// HTTP clients run in a child process (this same binary, started with HELPDESKD_BENCH_LOAD
// set), so the CPU time and the peak RSS reported are the daemon's alone. It asserts nothing:
// it measures and prints.
//
// With -driver postgres -dsn DSN the floor and the desks are on that Postgres server, in
// databases the command creates and drops there (pgtest.Fill fills them), and the daemon is
// wired on postgres.Open instead.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	daemonconfig "github.com/helpdeskd/helpdeskd/config"
)

func main() {
	if spec := os.Getenv(loadEnv); spec != "" {
		os.Exit(loadMain(spec, os.Stdout, os.Stderr))
	}
	// The daemon in this process runs with the collector's target helpdeskd runs with; the
	// clients' process keeps Go's default.
	daemonconfig.TuneGC(os.LookupEnv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
