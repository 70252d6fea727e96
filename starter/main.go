// Command starter is the operator's command line: it extracts conversation
// ids from EventBridge deliveries, forwards deliveries to Temporal with the
// same code the Lambda runs, and reads stored conversations.
//
//	starter events extract [FILE|-]
//	starter events send [--wait] [FILE|-]
//	starter conversations get [--detail] ID
//	starter table create
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
  starter conversations list [--status failed|incomplete] [--since T] [--json]
                                           list conversations that ended without a complete record
  starter conversations retry [--status S] [--since T] [ID...]
                                           ingest them again (the named ids, or those of --status)
  starter batches list [--since T] [--json] print the batches' audit records
  starter table create                     create the DynamoDB table (local stacks)`

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
	if len(args) < 2 {
		return usageError("missing command")
	}
	switch args[0] + " " + args[1] {
	case "events extract":
		return extractEvents(args[2:], stdin, stdout, stderr)
	case "events send":
		return sendEvents(ctx, args[2:], stdin, stdout)
	case "conversations get":
		return getConversation(ctx, args[2:], stdout)
	case "conversations list":
		return listConversations(ctx, args[2:], stdout)
	case "conversations retry":
		return retryConversations(ctx, args[2:], stdout)
	case "batches list":
		return listBatches(ctx, args[2:], stdout)
	case "table create":
		return createTable(ctx, stdout)
	}
	return usageError("unknown command %q", args[0]+" "+args[1])
}
