// Command starter is the operator's command line: it extracts conversation
// ids from EventBridge deliveries, forwards deliveries to Temporal with the
// same code the Lambda runs, and reads stored conversations.
//
//	starter events extract [FILE|-]
//	starter events send [--wait] [FILE|-]
//	starter conversations get [--detail] ID
//	starter conversations where [--json] ID
//	starter conversations list --day YYYY-MM-DD [--org ID] [--status S] [--queue Q] [--json]
//	starter backfill --from T1 --to T2 [--org ID] [--wait]
//	starter reconcile --from T1 --to T2 [--fix]
//	starter sweep schedule [--every D] [--window D] [--off]
//	starter status WORKFLOW_ID [--json]
//	starter table create
//	starter table migrate [--rate N] [--checkpoint FILE]
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// exitError carries a process exit code: 2 for unusable input or usage, 1
// for everything else.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageError(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format+"\n\n"+usage, args...)}
}

const usage = `usage:
  starter events extract [FILE|-]          print the valid conversation ids of a delivery
  starter events send [--wait] [FILE|-]    start the ingestion workflow for a delivery
  starter conversations get [--detail] ID  print a stored conversation
  starter conversations where [--json] ID  name the workflows that handled a conversation
  starter conversations list [--status failed|incomplete] [--since T] [--json]
                                           list conversations that ended without a complete record
  starter conversations list --day YYYY-MM-DD [--org ID] [--status S] [--queue Q] [--json]
                                           list the conversations that started that day (UTC)
  starter conversations retry [--status S] [--since T] [ID...]
                                           ingest them again (the named ids, or those of --status)
  starter batches list [--since T] [--json] print the batches' audit records
  starter backfill --from T1 --to T2 [--org ID] [--wait] [--json]
                                           ingest every conversation of the interval not stored complete
  starter reconcile --from T1 --to T2 [--fix] [--org ID] [--json]
                                           report missing, incomplete and failed conversations by day
  starter sweep schedule [--every 1h] [--window 48h] [--org ID] [--off]
                                           create, update or remove the scheduled sweep
  starter status WORKFLOW_ID [--json]      print a workflow's progress
  starter table create                     create the DynamoDB table (local stacks)
  starter table migrate [--rate 50] [--checkpoint FILE]
                                           give items written before the orgDay index their key`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	if err == nil {
		return
	}
	fmt.Fprintln(os.Stderr, "starter:", err)
	var exit *exitError
	if errors.As(err, &exit) {
		os.Exit(exit.code)
	}
	os.Exit(1)
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError("missing command")
	}
	switch args[0] {
	case "backfill", "reconcile":
		return runBackfill(ctx, args[0], args[1:], stdout, stderr)
	case "status":
		return printStatus(ctx, args[1:], stdout)
	}
	if len(args) < 2 {
		return usageError("missing command")
	}
	switch args[0] + " " + args[1] {
	case "sweep schedule":
		return scheduleSweep(ctx, args[2:], stdout)
	case "events extract":
		return extractEvents(args[2:], stdin, stdout, stderr)
	case "events send":
		return sendEvents(ctx, args[2:], stdin, stdout)
	case "conversations get":
		return getConversation(ctx, args[2:], stdout)
	case "conversations where":
		return whereConversation(ctx, args[2:], stdout)
	case "conversations list":
		if hasFlag(args[2:], "day") {
			return listDay(ctx, args[2:], stdout)
		}
		return listConversations(ctx, args[2:], stdout)
	case "conversations retry":
		return retryConversations(ctx, args[2:], stdout)
	case "batches list":
		return listBatches(ctx, args[2:], stdout)
	case "table create":
		return createTable(ctx, stdout)
	case "table migrate":
		return migrateTable(ctx, args[2:], stdout)
	}
	return usageError("unknown command %q", args[0]+" "+args[1])
}
