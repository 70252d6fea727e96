package workflows

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

// TestTimerSummariesAreNotPartOfTheCommands: the Web UI labels timers with
// their summaries (what a timer waits for), which the recorded histories
// predate; they still replay with the code that sets them, because the
// SDK matches a timer command to its event by timer id only, and a
// summary is metadata beside the command. The same holds for the static
// details of the scheduler's start, matched by workflow id and type.
func TestTimerSummariesAreNotPartOfTheCommands(t *testing.T) {
	for _, file := range []string{"testdata/ingest-history.json", "testdata/scheduler-history.json"} {
		t.Run(file, func(t *testing.T) {
			f, err := os.Open(file)
			require.NoError(t, err)
			defer f.Close()
			history, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
			require.NoError(t, err)
			timers := 0
			for _, e := range history.GetEvents() {
				if e.GetEventType() == enumspb.EVENT_TYPE_TIMER_STARTED {
					timers++
					require.Nil(t, e.GetUserMetadata().GetSummary(), "event %d was recorded with a summary", e.GetEventId())
				}
			}
			require.Positive(t, timers, "a history with timers")
			require.NoError(t, newReplayer().ReplayWorkflowHistory(nil, history))
		})
	}
}
