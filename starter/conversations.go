package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"iter"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/genesys-ingest/genesys-ingest/activities/store"
	"github.com/genesys-ingest/genesys-ingest/config"
	"github.com/genesys-ingest/genesys-ingest/config/workerconfig"
	"github.com/genesys-ingest/genesys-ingest/workflows"
)

// parseConversationID parses args with flags and returns the one
// conversation id they must name: a usage error otherwise, exit 2 for an id
// that is not a UUID.
func parseConversationID(flags *flag.FlagSet, args []string) (string, error) {
	if err := flags.Parse(args); err != nil {
		return "", usageError("%v", err)
	}
	if flags.NArg() != 1 {
		return "", usageError("%s takes one conversation id", flags.Name())
	}
	id := flags.Arg(0)
	if !workflows.ValidConversationID(id) {
		return "", &exitError{code: 2, err: fmt.Errorf("conversation id %q is not a UUID", id)}
	}
	return id, nil
}

// getConversation prints a stored item as JSON with the table's attribute
// names; --detail adds the analytics record, from the item or the detail
// bucket.
func getConversation(ctx context.Context, args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("conversations get", flag.ContinueOnError)
	detail := flags.Bool("detail", false, "add the stored analytics record (detail), from the item or the detail bucket")
	id, err := parseConversationID(flags, args)
	if err != nil {
		return err
	}
	table, err := openTable(ctx)
	if err != nil {
		return err
	}
	return printConversation(ctx, table, id, *detail, stdout)
}

// conversationReader is the part of *store.Table that get reads with.
type conversationReader interface {
	Name() string
	Get(ctx context.Context, conversationID string) (map[string]any, bool, error)
	Detail(ctx context.Context, r store.Record) (json.RawMessage, error)
}

func printConversation(ctx context.Context, table conversationReader, id string, detail bool, stdout io.Writer) error {
	item, found, err := table.Get(ctx, id)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("conversation %s is not stored in table %s", id, table.Name())
	}
	bucket, _ := item["detailBucket"].(string)
	key, inBucket := item["detailKey"].(string)
	switch {
	case inBucket && detail:
		raw, err := table.Detail(ctx, store.Record{ConversationID: id, DetailBucket: bucket, DetailKey: key})
		if err != nil {
			return err
		}
		item["detail"] = raw
	case inBucket:
		item["detail"] = fmt.Sprintf("(gzipped analytics record in s3://%s/%s; --detail reads it)", bucket, key)
	case !detail && item["detail"] != nil:
		item["detail"] = "(gzipped analytics record; --detail decodes it)"
	}
	return printJSON(stdout, item)
}

// createTable creates the conversations and batches tables.
func createTable(ctx context.Context, stdout io.Writer) error {
	table, err := openTable(ctx)
	if err != nil {
		return err
	}
	if err := table.CreateTable(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "table %s is ready\n", table.Name())
	batches := store.NewBatches(table.API(), workerconfig.BatchTable(config.OSLookup))
	if err := batches.CreateTable(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "table %s is ready\n", batches.Name())
	return nil
}

// openTable opens the conversations table with an S3 client for the
// details in the detail bucket (AWS_ENDPOINT_URL_S3 points it at a local S3).
func openTable(ctx context.Context) (*store.Table, error) {
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("aws config: %w", err)
	}
	cfg := workerconfig.Store(config.OSLookup)
	cfg.Objects = s3.NewFromConfig(awsCfg)
	return store.NewTable(dynamodb.NewFromConfig(awsCfg), cfg), nil
}

// hasFlag reports whether args set the flag name, in any of the flag
// package's spellings.
func hasFlag(args []string, name string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if a == "-"+name || a == "--"+name || strings.HasPrefix(a, "-"+name+"=") || strings.HasPrefix(a, "--"+name+"=") {
			return true
		}
	}
	return false
}

// listDay prints the conversations of an org that started on one UTC day,
// read from the orgDay index: a table, or JSON lines with --json.
func listDay(ctx context.Context, args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("conversations list --day", flag.ContinueOnError)
	dayFlag := flags.String("day", "", "the UTC day the conversations started, YYYY-MM-DD")
	org := flags.String("org", os.Getenv("GENESYS_ORG_ID"), "Genesys org id (default $GENESYS_ORG_ID; "+store.UnknownOrg+" for conversations stored without one)")
	status := flags.String("status", "", store.StatusComplete+" or "+store.StatusIncomplete+" (default both)")
	queue := flags.String("queue", "", "only conversations that were in this queue id")
	asJSON := flags.Bool("json", false, "print JSON lines instead of a table")
	if err := flags.Parse(args); err != nil {
		return usageError("%v", err)
	}
	day, err := time.Parse(time.DateOnly, *dayFlag)
	if err != nil {
		return usageError("--day %q: want a YYYY-MM-DD date", *dayFlag)
	}
	if *org == "" {
		return usageError("--day needs --org (or GENESYS_ORG_ID): the index is by org and day")
	}
	if *status != "" && *status != store.StatusComplete && *status != store.StatusIncomplete {
		// Failed items have no conversationStart, so no day: --status failed without --day lists them.
		return usageError("--status %q: with --day, want %s or %s", *status, store.StatusComplete, store.StatusIncomplete)
	}
	table, err := openTable(ctx)
	if err != nil {
		return err
	}
	return printDay(table.ListDay(ctx, *org, day, store.DayFilter{Status: *status, QueueID: *queue}), *asJSON, stdout)
}

func printDay(conversations iter.Seq2[store.DayConversation, error], asJSON bool, stdout io.Writer) error {
	if asJSON {
		enc := json.NewEncoder(stdout)
		for c, err := range conversations {
			if err != nil {
				return err
			}
			if err := enc.Encode(c); err != nil {
				return err
			}
		}
		return nil
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "CONVERSATION\tSTART\tSTATUS\tMEDIA\tDIRECTION\tDURATION\tHANDLE\tAGENTS\tTRANSFERS\tABANDONED\tQUEUES")
	n := 0
	for c, err := range conversations {
		if err != nil {
			return err
		}
		duration := "-"
		if c.DurationMs != nil {
			duration = millis(*c.DurationMs)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%t\t%s\n", c.ConversationID, c.ConversationStart, c.Status,
			c.MediaType, c.OriginatingDirection, duration, millis(c.HandleTimeMs), len(c.Agents), c.Transfers, c.Abandoned,
			strings.Join(c.QueueIDs, ","))
		n++
	}
	fmt.Fprintf(w, "%d conversations\n", n)
	return w.Flush()
}

// millis prints a time in milliseconds to the second, as people read it.
func millis(ms int64) string {
	return (time.Duration(ms) * time.Millisecond).Round(time.Second).String()
}

// migrateTable gives the items written before the orgDay index their key,
// at --rate items a second, recording progress in --checkpoint so that an
// interrupted run (Ctrl-C, a lost session) resumes where it was.
func migrateTable(ctx context.Context, args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("table migrate", flag.ContinueOnError)
	rate := flags.Float64("rate", 50, "items scanned or updated per second, at most: what the table can spare besides the workers")
	checkpoint := flags.String("checkpoint", "", "progress file; an interrupted run resumes from it (default table-migrate-<table>.json)")
	if err := flags.Parse(args); err != nil {
		return usageError("%v", err)
	}
	if *rate <= 0 {
		return usageError("--rate %g: must be above 0", *rate)
	}
	table, err := openTable(ctx)
	if err != nil {
		return err
	}
	path := cmp.Or(*checkpoint, "table-migrate-"+table.Name()+".json")
	from, err := readCheckpoint(path)
	if err != nil {
		return err
	}
	if from.After != "" {
		fmt.Fprintf(stdout, "resuming after %s (%d scanned, %d updated so far)\n", from.After, from.Scanned, from.Updated)
	}
	lastPrinted := time.Now()
	done, err := table.MigrateDayKeys(ctx, from, *rate, func(p store.DayKeyProgress) error {
		if time.Since(lastPrinted) >= 10*time.Second {
			fmt.Fprintf(stdout, "%d scanned, %d updated, %d skipped\n", p.Scanned, p.Updated, p.Skipped)
			lastPrinted = time.Now()
		}
		return writeCheckpoint(path, p)
	})
	if err != nil {
		return fmt.Errorf("%w (run it again to resume from %s)", err, path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	fmt.Fprintf(stdout, "table %s migrated: %d scanned, %d updated, %d skipped (written meanwhile)\n",
		table.Name(), done.Scanned, done.Updated, done.Skipped)
	return nil
}

func readCheckpoint(path string) (store.DayKeyProgress, error) {
	var p store.DayKeyProgress
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return p, nil
	case err != nil:
		return p, err
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("checkpoint %s: %w (delete it to start over)", path, err)
	}
	return p, nil
}

// writeCheckpoint replaces the file whole, so an interruption never leaves
// half a checkpoint.
func writeCheckpoint(path string, p store.DayKeyProgress) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
