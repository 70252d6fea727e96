package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/genesys-ingest/genesys-ingest/activities/store"
	"github.com/genesys-ingest/genesys-ingest/config"
	"github.com/genesys-ingest/genesys-ingest/config/workerconfig"
	"github.com/genesys-ingest/genesys-ingest/workflows"
)

// getConversation prints a stored item as JSON with the table's attribute
// names; --detail decodes the gzipped analytics record.
func getConversation(ctx context.Context, args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("conversations get", flag.ContinueOnError)
	detail := flags.Bool("detail", false, "decode the stored analytics record (detail)")
	if err := flags.Parse(args); err != nil {
		return usageError("%v", err)
	}
	if flags.NArg() != 1 {
		return usageError("conversations get takes one conversation id")
	}
	id := flags.Arg(0)
	if !workflows.ValidConversationID(id) {
		return &exitError{code: 2, err: fmt.Errorf("conversation id %q is not a UUID", id)}
	}
	table, err := openTable(ctx)
	if err != nil {
		return err
	}
	item, found, err := table.Get(ctx, id)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("conversation %s is not stored in table %s", id, table.Name())
	}
	if !*detail {
		if _, ok := item["detail"]; ok {
			item["detail"] = "(gzipped analytics record; --detail decodes it)"
		}
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

func openTable(ctx context.Context) (*store.Table, error) {
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("aws config: %w", err)
	}
	return store.NewTable(dynamodb.NewFromConfig(awsCfg), workerconfig.Store(config.OSLookup)), nil
}
