package devstack

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/genesys-ingest/genesys-ingest/simulator"
	"github.com/genesys-ingest/genesys-ingest/starter/sweep"
	"github.com/genesys-ingest/genesys-ingest/workflows"
)

// EnsureSweep creates the scheduled sweep on the stack's Temporal with the
// defaults (every hour, the last two days), for the simulator's org or
// GENESYS_ORG_ID against a real Genesys. `starter sweep schedule --off`
// removes it.
func EnsureSweep(ctx context.Context, e Endpoints, log io.Writer) error {
	org := os.Getenv("GENESYS_ORG_ID")
	if e.Simulator != "" {
		catalog, err := simulator.NewClient(e.Simulator).Catalog(ctx)
		if err != nil {
			return fmt.Errorf("devstack: the simulator's org: %w", err)
		}
		org = catalog.OrgID
	}
	c, err := client.DialContext(ctx, client.Options{HostPort: e.TemporalAddress, Logger: quietLogger{}})
	if err != nil {
		return fmt.Errorf("devstack: connect to Temporal at %s: %w", e.TemporalAddress, err)
	}
	defer c.Close()
	s := sweep.Settings{Every: sweep.DefaultEvery, Window: sweep.DefaultWindow, OrgID: org, TaskQueue: workflows.DefaultTaskQueue}
	if _, err := sweep.Ensure(ctx, c, s); err != nil {
		return fmt.Errorf("devstack: %w", err)
	}
	fmt.Fprintf(log, "  sweep schedule %s: every %s over the last %s (Web UI → Schedules)\n", sweep.ScheduleID, s.Every, s.Window)
	return nil
}

// DemoBackfill runs `starter backfill --wait` over the last two days, as an
// operator would, so the demo shows the history the simulator holds (its
// first conversations never had events) being found and stored.
func DemoBackfill(ctx context.Context, p Paths, e Endpoints, out io.Writer) error {
	catalog, err := simulator.NewClient(e.Simulator).Catalog(ctx)
	if err != nil {
		return fmt.Errorf("devstack: the simulator's org: %w", err)
	}
	now := time.Now().UTC()
	args := []string{"backfill", "--from", now.Add(-48 * time.Hour).Format(time.RFC3339), "--to", now.Format(time.RFC3339),
		"--org", catalog.OrgID, "--wait"}
	fmt.Fprintf(out, "\n$ starter %s\n", strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, filepath.Join(p.Bin, "starter"), args...)
	cmd.Env = append(os.Environ(), "TEMPORAL_ADDRESS="+e.TemporalAddress, "TEMPORAL_NAMESPACE=default",
		"TEMPORAL_CONFIG_FILE="+filepath.Join(p.Run, "temporal-local.toml"),
		"AWS_ENDPOINT_URL_DYNAMODB="+e.DynamoDB, "AWS_ENDPOINT_URL_S3="+e.S3, "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("devstack: the demo's backfill: %w", err)
	}
	return nil
}
