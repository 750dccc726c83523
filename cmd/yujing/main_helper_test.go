package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"testing"
)

// serveChildEnv makes the test binary run `yujing` itself with its
// command-line arguments instead of the tests, so a test can run yujing as
// a child process and SIGKILL it (TestNoLossKilled).
const serveChildEnv = "YUJING_TEST_RUN_YUJING"

func TestMain(m *testing.M) {
	if os.Getenv(serveChildEnv) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}
