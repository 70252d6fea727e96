// Command devstack installs, starts and stops the local stack and runs the
// demo. The Makefile calls it; see `make help`.
//
//	devstack tools | build | up | down | demo [-conversations N] | bench [-smoke] | chaos [-reduced] | replay-corpus
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/genesys-ingest/genesys-ingest/devstack"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "devstack:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: devstack tools|build|up|down|reset|demo [-conversations N]|bench [-smoke]|bench-backfill|chaos [-reduced]|replay-corpus")
	}
	paths, err := devstack.FindPaths()
	if err != nil {
		return err
	}
	switch args[0] {
	case "tools":
		return devstack.EnsureTools(ctx, paths, os.Stdout)
	case "build":
		return devstack.Build(ctx, paths, os.Stdout)
	case "up":
		_, err := up(ctx, paths)
		return err
	case "down":
		fmt.Println("stopping the local stack…")
		return devstack.Down(paths, os.Stdout)
	case "reset":
		fmt.Println("stopping the local stack and deleting its data (workflows, tables)…")
		if err := devstack.Down(paths, os.Stdout); err != nil {
			return err
		}
		if err := os.RemoveAll(paths.Data); err != nil {
			return err
		}
		fmt.Printf("  deleted %s\n", paths.Data)
		return nil
	case "demo":
		flags := flag.NewFlagSet("demo", flag.ContinueOnError)
		conversations := flags.Int("conversations", 300, "conversations to run through the pipeline")
		batch := flags.Int("batch", 100, "events per SQS batch")
		if err := flags.Parse(args[1:]); err != nil {
			return err
		}
		return demo(ctx, paths, *conversations, *batch)
	case "bench":
		return bench(ctx, paths, args[1:])
	case "bench-backfill":
		return devstack.BackfillBenchCommand(ctx, paths, os.Stdout)
	case "chaos":
		return devstack.ChaosCommand(ctx, paths, args[1:], os.Stdout)
	case "replay-corpus":
		return devstack.ReplayCorpusCommand(ctx, paths, args[1:], os.Stdout)
	}
	return fmt.Errorf("unknown command %q", args[0])
}

// up starts the detached stack unless it is already running.
func up(ctx context.Context, paths devstack.Paths) (devstack.Endpoints, error) {
	if e, err := devstack.Running(paths); err == nil {
		if err := devstack.Healthy(ctx, e); err == nil {
			fmt.Printf("the local stack is already running; Temporal Web UI: %s\n", e.WebUI)
			return e, nil
		}
		fmt.Println("the local stack is partly down; restarting it")
		if err := devstack.Down(paths, os.Stdout); err != nil {
			return e, err
		}
	}
	if err := devstack.EnsureTools(ctx, paths, os.Stdout); err != nil {
		return devstack.Endpoints{}, err
	}
	fmt.Println("building the worker, simulator, starter and forwarder bootstrap…")
	if err := devstack.Build(ctx, paths, os.Stdout); err != nil {
		return devstack.Endpoints{}, err
	}
	fmt.Println("starting the local stack:")
	// A new seed each time: a demo after make down and make up runs new
	// conversations, not the ones already stored. The simulator holds a day
	// of history before them (conversations no event announced, for the
	// demo's backfill and the sweep), 43.2 s apart.
	now := time.Now().UTC()
	stack, err := devstack.Start(ctx, devstack.Options{
		Paths: paths, Ports: devstack.DefaultPorts(), Detached: true, Log: os.Stdout,
		SimulatorArgs: []string{"--absent-for", "2s", "--wrapup-for", "6s",
			"--seed", strconv.FormatInt(now.Unix(), 10),
			"--conversations", strconv.Itoa(demoHistory), "--history", strconv.Itoa(demoHistory), "--spacing", "43.2s",
			"--base-time", now.Add(-25 * time.Hour).Truncate(time.Hour).Format(time.RFC3339)},
	})
	if err != nil {
		return devstack.Endpoints{}, err
	}
	e := stack.Endpoints
	if err := devstack.EnsureSweep(ctx, e, os.Stdout); err != nil {
		return e, err
	}
	fmt.Printf(`
the local stack is up:
  Temporal Web UI   %s
  Temporal gRPC     %s
  DynamoDB (dynalite) %s
  Genesys API       %s
  forwarder Lambda  %s
  worker metrics    %s/metrics
logs are in %s; make down stops everything.
`, e.WebUI, e.TemporalAddress, e.DynamoDB, e.GenesysAPI, e.LambdaInvokeURL(), e.WorkerMetrics, paths.Logs)
	return e, nil
}

// demoHistory conversations, a day's worth, precede the live ones in the
// local simulator.
const demoHistory = 2000

func demo(ctx context.Context, paths devstack.Paths, conversations, batch int) error {
	e, err := up(ctx, paths)
	if err != nil {
		return err
	}
	fmt.Printf("\nrunning %d conversations through the pipeline (simulated readiness lag: absent 2s, wrap-up 6s)…\n", conversations)
	started := time.Now()
	report, err := devstack.Drive(ctx, e, devstack.DriveOptions{
		Conversations: conversations, EventsPerDelivery: batch, Poison: true, Progress: os.Stdout,
		TableName: os.Getenv("DYNAMODB_TABLE"),
	})
	if err != nil {
		return err
	}
	fmt.Printf(`
| conversations | stored complete | stored incomplete | missing | failed | Genesys requests | 429s | poison records acknowledged | time |
|---:|---:|---:|---:|---:|---:|---:|---:|---:|
| %d | %d | %d | %d | %d | %d | %d | %d | %s |

%d workflows, one per SQS batch: %s
`, report.Conversations, report.StoredComplete, report.StoredIncomplete, len(report.Missing), report.Failed,
		report.GenesysRequests, report.RateLimited, report.RejectedRecords, time.Since(started).Round(100*time.Millisecond),
		report.Workflows, e.WorkflowsURL())
	if len(report.Missing) > 0 || report.BatchItemFailures > 0 {
		return fmt.Errorf("%d conversations missing, %d batch items handed back to SQS", len(report.Missing), report.BatchItemFailures)
	}
	fmt.Println("every conversation is stored.")
	if e.Simulator != "" {
		fmt.Printf("\nthe simulator also holds %d conversations of the last day that no event announced: a backfill finds them\n", demoHistory)
		if err := devstack.DemoBackfill(ctx, paths, e, os.Stdout); err != nil {
			return err
		}
	}
	fmt.Println("\nThe stack stays up for inspection; make down stops it.")
	return nil
}
