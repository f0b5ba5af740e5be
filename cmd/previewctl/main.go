// Command previewctl is the command-line client of previewd: it uploads a
// folder as a generation, launches its preview, shows its status, logs and
// endpoints, sends it requests, and stops it. Run `previewctl help` for usage.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first Ctrl-C, commands clean up (up stops its preview); a
	// second one kills previewctl as usual.
	context.AfterFunc(ctx, stop)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
