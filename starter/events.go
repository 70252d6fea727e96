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
	"time"

	"go.temporal.io/sdk/client"

	"github.com/genesys-ingest/genesys-ingest/starter/forwarder"
	"github.com/genesys-ingest/genesys-ingest/starter/intake"
	"github.com/genesys-ingest/genesys-ingest/starter/progress"
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
	wait := flags.Bool("wait", false, "wait for the workflow, showing its progress on stderr, and print its summary")
	if err := flags.Parse(args); err != nil {
		return usageError("%v", err)
	}
	payload, err := readInput(flags.Args(), stdin)
	if err != nil {
		return err
	}
	cfg, logger, temporal, err := connect(ctx)
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
	summary, err := waitWithProgress(ctx, temporal, out.WorkflowID, out.Conversations, os.Stderr)
	if err != nil {
		return fmt.Errorf("workflow %s: %w", out.WorkflowID, err)
	}
	return printJSON(stdout, summary)
}

// waitWithProgress waits for the batch workflow and shows, on w, how many
// of its conversations are settled (stored, unchanged or failed) as a
// progress bar with rate and ETA on a terminal, a plain line now and then
// elsewhere. stdout keeps only the workflow id and the summary.
func waitWithProgress(ctx context.Context, temporal client.Client, workflowID string, conversations int, w io.Writer) (workflows.Summary, error) {
	var summary workflows.Summary
	done := make(chan error, 1)
	go func() { done <- temporal.GetWorkflow(ctx, workflowID, "").Get(ctx, &summary) }()
	bar := progress.New(w, "conversations settled", "conversations", int64(conversations))
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if err != nil {
				return summary, err
			}
			bar.Set(int64(settled(summary)), int64(summary.Received))
			bar.Finish()
			return summary, nil
		case <-tick.C:
			var p workflows.Progress
			v, err := temporal.QueryWorkflow(ctx, workflowID, "", workflows.ProgressQuery)
			if err == nil && v.Get(&p) == nil {
				bar.Set(int64(settled(p.Summary)), int64(max(p.Summary.Received, conversations)))
			}
		}
	}
}

// settled counts a summary's conversations that need nothing more.
func settled(s workflows.Summary) int {
	return s.StoredComplete + s.StoredIncomplete + s.Unchanged + s.Failed
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
