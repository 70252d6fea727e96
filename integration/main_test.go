// Package integration runs the whole pipeline for real: the simulator's
// events go through the forwarder's bootstrap under the Lambda emulator to
// the Temporal dev server, the worker fetches from the simulator over HTTP
// and writes to dynalite. TestMain starts that stack on free ports and stops
// it at the end; a stack that cannot start fails the run, it never skips.
package integration

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/genesys-ingest/genesys-ingest/devstack"
)

var stack *devstack.Stack

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		fmt.Println("integration: -short given, skipping the integration tests")
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	paths, err := devstack.FindPaths()
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	if err := devstack.EnsureTools(ctx, paths, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "integration: cannot install the local stack's tools:", err)
		return 1
	}
	if err := devstack.Build(ctx, paths, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	ports, err := devstack.FreePorts()
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	// Logs of this stack go to their own folder so they never mix with a
	// running `make up`.
	paths.Logs = paths.Logs + "/integration"
	paths.Run = paths.Run + "/integration"
	stack, err = devstack.Start(ctx, devstack.Options{
		Hermetic: true,
		Paths:    paths, Ports: ports, Log: os.Stderr,
		// Every conversation is absent at first, then open, then complete,
		// so every test exercises readiness polling.
		SimulatorArgs: []string{"--absent-for", simulatorAbsentFor, "--wrapup-for", simulatorWrapupFor, "--seed", "7"},
		Env:           []string{"READY_POLL_INTERVAL=2s", "LOG_LEVEL=debug"},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration: cannot start the local stack:", err)
		return 1
	}
	defer stack.Stop()
	return m.Run()
}
