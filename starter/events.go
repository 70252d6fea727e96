package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/genesys-ingest/genesys-ingest/config"
	"github.com/genesys-ingest/genesys-ingest/starter/forwarder"
	"github.com/genesys-ingest/genesys-ingest/starter/intake"
	"github.com/genesys-ingest/genesys-ingest/telemetry"
	"github.com/genesys-ingest/genesys-ingest/workflows"
)

// extractEvents prints the valid conversation ids of a delivery, one per
// line, and each rejected record to stderr with its reason.
func extractEvents(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	payload, err := readInput(args, stdin)
	if err != nil {
		return err
	}
	d, err := intake.Parse(payload)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	for _, c := range d.Conversations {
		fmt.Fprintln(stdout, c.ID)
	}
	for _, r := range d.Rejected {
		where := fmt.Sprintf("record %d", r.Index)
		if r.MessageID != "" {
			where += " (message " + r.MessageID + ")"
		}
		fmt.Fprintf(stderr, "rejected %s: %s\n", where, r.Reason)
	}
	if d.Ignored > 0 {
		fmt.Fprintf(stderr, "ignored %d events of other topics\n", d.Ignored)
	}
	return nil
}

// sendEvents runs the Lambda's handler against Temporal and prints the
// workflow id; with --wait it waits and prints the workflow's summary.
func sendEvents(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	flags := flag.NewFlagSet("events send", flag.ContinueOnError)
	wait := flags.Bool("wait", false, "wait for the workflow and print its summary")
	if err := flags.Parse(args); err != nil {
		return usageError("%v", err)
	}
	payload, err := readInput(flags.Args(), stdin)
	if err != nil {
		return err
	}
	cfg, err := config.LoadForwarder(config.OSLookup)
	if err != nil {
		return err
	}
	logger, err := telemetry.NewLogger("console", cfg.Log.Level)
	if err != nil {
		return err
	}
	temporal, err := dialTemporal(ctx, logger)
	if err != nil {
		return err
	}
	defer temporal.Close()

	out, err := forwarder.New(temporal, cfg, logger).Forward(ctx, payload)
	switch {
	case errors.Is(err, forwarder.ErrUnusablePayload):
		return &exitError{code: 2, err: err}
	case err != nil:
		return err
	case len(out.RetryMessageIDs) > 0:
		return fmt.Errorf("workflow %s not started; the delivery would be retried", out.WorkflowID)
	case out.WorkflowID == "":
		fmt.Fprintln(stdout, "no conversations to ingest")
		return nil
	}
	fmt.Fprintln(stdout, out.WorkflowID)
	if !*wait {
		return nil
	}
	var summary workflows.Summary
	if err := temporal.GetWorkflow(ctx, out.WorkflowID, "").Get(ctx, &summary); err != nil {
		return fmt.Errorf("workflow %s: %w", out.WorkflowID, err)
	}
	return printJSON(stdout, summary)
}

func readInput(args []string, stdin io.Reader) ([]byte, error) {
	var (
		payload []byte
		err     error
	)
	switch {
	case len(args) > 1:
		return nil, usageError("too many arguments: %s", strings.Join(args, " "))
	case len(args) == 0 || args[0] == "-":
		payload, err = io.ReadAll(stdin)
	default:
		payload, err = os.ReadFile(args[0])
	}
	if err != nil {
		return nil, fmt.Errorf("read delivery: %w", err)
	}
	return payload, nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
