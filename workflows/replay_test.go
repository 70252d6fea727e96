package workflows

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// TestReplayRecordedHistories replays histories recorded from `make demo` on
// the local stack: a batch that found no scheduler, started it, and
// submitted again for readiness; and that scheduler's first 169 events
// (20 submissions, 12 fetches, 21 reports). A change to either workflow that
// would break running executions fails here. Record new ones with:
//
//	temporal workflow show -w WORKFLOW_ID -o json > workflows/testdata/NAME.json
func TestReplayRecordedHistories(t *testing.T) {
	for _, file := range []string{"testdata/ingest-history.json", "testdata/scheduler-history.json"} {
		t.Run(file, func(t *testing.T) {
			require.NoError(t, newReplayer().ReplayWorkflowHistoryFromJSONFile(nil, file))
		})
	}
}

// TestReplayCorpus replays the corpus `make replay-corpus` records on the
// local stack, one history per path the workflows take (devstack/corpus.go
// says which), each file named after its path. An empty folder fails: a
// corpus that went missing must not pass as one that replays.
//
// testdata/corpus-<commit>/ keeps the corpus recorded by the code of that
// commit when a workflow change made the corpus be recorded again: those
// are the histories of executions a deployment of that code may still have
// running when the new code takes over.
func TestReplayCorpus(t *testing.T) {
	files, err := filepath.Glob("testdata/corpus/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files, "testdata/corpus/ holds no histories; make replay-corpus records them")
	earlier, err := filepath.Glob("testdata/corpus-*/*.json")
	require.NoError(t, err)
	for _, file := range append(files, earlier...) {
		t.Run(filepath.Base(filepath.Dir(file))+"/"+filepath.Base(file), func(t *testing.T) {
			require.NoError(t, replayFile(file, corpusWorkflowID(t, file)))
		})
	}
}

// corpusWorkflowID is the recorded workflow id of a corpus history, from
// workflow-ids.tsv beside it (written by make replay-corpus); "" when the
// folder has none. A Backfill names its batches after its own id, so it
// replays only under that id.
func corpusWorkflowID(t *testing.T, file string) string {
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "workflow-ids.tsv"))
	if errors.Is(err, os.ErrNotExist) {
		return ""
	}
	require.NoError(t, err)
	for line := range strings.Lines(string(b)) {
		if name, id, ok := strings.Cut(strings.TrimSpace(line), "\t"); ok && name == filepath.Base(file) {
			return id
		}
	}
	return ""
}

func replayFile(file, workflowID string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	if err != nil {
		return err
	}
	return newReplayer().ReplayWorkflowHistoryWithOptions(nil, h,
		worker.ReplayWorkflowHistoryOptions{OriginalExecution: workflow.Execution{ID: workflowID}})
}

// newReplayer replays any of the workflows, registered under its name.
func newReplayer() worker.WorkflowReplayer {
	replayer := worker.NewWorkflowReplayer()
	replayer.RegisterWorkflowWithOptions(IngestConversations, workflow.RegisterOptions{Name: IngestWorkflowName})
	replayer.RegisterWorkflowWithOptions(FetchScheduler, workflow.RegisterOptions{Name: FetchSchedulerWorkflowName})
	replayer.RegisterWorkflowWithOptions(Backfill, workflow.RegisterOptions{Name: BackfillWorkflowName})
	return replayer
}

// TestReplayCatchesAChangedCommandSequence: the same history replayed by a
// scheduler that issues one command more before its first one must fail,
// or the replay test above could not catch a reordering either.
func TestReplayCatchesAChangedCommandSequence(t *testing.T) {
	replayer := worker.NewWorkflowReplayer()
	replayer.RegisterWorkflowWithOptions(func(ctx workflow.Context, in SchedulerInput) error {
		if err := workflow.Sleep(ctx, time.Millisecond); err != nil {
			return err
		}
		return FetchScheduler(ctx, in)
	}, workflow.RegisterOptions{Name: FetchSchedulerWorkflowName})
	err := replayer.ReplayWorkflowHistoryFromJSONFile(nil, "testdata/scheduler-history.json")
	require.Error(t, err)
	require.Contains(t, err.Error(), "TMPRL1100", "the SDK's nondeterminism error")
}
