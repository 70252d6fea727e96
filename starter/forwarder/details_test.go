package forwarder

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genesys-ingest/genesys-ingest/internal/fixtures"
	"github.com/genesys-ingest/genesys-ingest/workflows"
)

// TestABatchSaysInTheWebUIWhatItDoes: the summary counts the delivery, and
// the details (about four lines in the Web UI) name the scheduler and the
// readiness settings.
func TestABatchSaysInTheWebUIWhatItDoes(t *testing.T) {
	starter := &fakeStarter{}
	h, _ := newHandler(t, starter)
	_, err := h.Forward(context.Background(), fixtures.Read(t, "events/sqs-batch.json"))
	require.NoError(t, err)
	require.Len(t, starter.options, 1)
	o := starter.options[0]
	assert.Regexp(t, `^2 conversations from an sqs delivery \(\d+ events, 2 rejected, \d+ ignored\)$`, o.StaticSummary)
	assert.Equal(t, "Stores each conversation's record (ids in the **Input**) in DynamoDB via the fetch scheduler "+
		"`"+workflows.FetchSchedulerID(workflows.DefaultGenesysTaskQueue)+"`. Ones Genesys has not finished are submitted again "+
		"after 1m0s, then less often, until 2h0m0s; then stored as they are.", o.StaticDetails)
	assert.LessOrEqual(t, len(o.StaticDetails), 300, "it fits the Web UI's details box")
}
