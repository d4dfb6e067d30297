// Command helpdeskd is the support desk daemon and its command-line tools: serve, migrate,
// admin provisioning and version. main only parses the command line and wires the
// packages together; the behaviour lives in core, gateway and the adapters.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/helpdeskd/helpdeskd/config"
)

func main() {
	config.TuneGC(os.LookupEnv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Environ())
	stop()
	os.Exit(code)
}
