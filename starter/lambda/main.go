// Command lambda is the forwarder Lambda (the `bootstrap` of a
// provided.al2023 function): it starts one ingestion workflow per
// EventBridge delivery (one event, a JSON array, or an SQS batch).
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"go.temporal.io/sdk/client"

	"github.com/genesys-ingest/genesys-ingest/config"
	"github.com/genesys-ingest/genesys-ingest/starter/forwarder"
	"github.com/genesys-ingest/genesys-ingest/telemetry"
)

func main() {
	handler, err := newHandler()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	lambda.Start(handler)
}

// newHandler runs once per cold start. The Temporal client is lazy and
// reused by every invocation of this process; it dials on first use.
func newHandler() (func(context.Context, json.RawMessage) (any, error), error) {
	cfg, err := config.LoadForwarder(config.OSLookup)
	if err != nil {
		return nil, err
	}
	logger, err := telemetry.NewLogger(cfg.Log.Format, cfg.Log.Level)
	if err != nil {
		return nil, err
	}
	opts, err := config.TemporalClientOptions()
	if err != nil {
		return nil, err
	}
	opts.Logger = telemetry.TemporalLogger(logger)
	if cfg.TemporalAPIKeySecretARN != "" {
		awsCfg, err := awsconfig.LoadDefaultConfig(context.Background())
		if err != nil {
			return nil, fmt.Errorf("aws config: %w", err)
		}
		opts.Credentials = client.NewAPIKeyDynamicCredentials(
			forwarder.SecretAPIKey(secretsmanager.NewFromConfig(awsCfg), cfg.TemporalAPIKeySecretARN))
		if opts.ConnectionOptions.TLS == nil {
			opts.ConnectionOptions.TLS = &tls.Config{MinVersion: tls.VersionTLS12} // API keys need TLS
		}
	}
	temporal, err := client.NewLazyClient(opts)
	if err != nil {
		return nil, fmt.Errorf("temporal client: %w", err)
	}
	h := forwarder.New(temporal, cfg, logger)
	return func(ctx context.Context, payload json.RawMessage) (any, error) {
		out, err := h.Forward(ctx, payload)
		if errors.Is(err, forwarder.ErrUnusablePayload) {
			// Logged by Forward; retrying cannot make it readable.
			return out.LambdaResponse(), nil
		}
		if err != nil {
			return nil, err
		}
		return out.LambdaResponse(), nil
	}, nil
}
