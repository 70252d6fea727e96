package devstack

import (
	"context"
	"fmt"
	"io"
	"os"

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
