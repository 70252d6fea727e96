package sweep

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/genesys-ingest/genesys-ingest/workflows"
)

func TestSettingsValidate(t *testing.T) {
	ok := Settings{Every: DefaultEvery, Window: DefaultWindow, TaskQueue: workflows.DefaultTaskQueue}
	assert.NoError(t, ok.Validate())
	bad := Settings{Every: time.Second, Window: time.Minute}
	err := bad.Validate()
	assert.ErrorContains(t, err, "every 1s: must be at least 1m")
	assert.ErrorContains(t, err, "window 1m0s: must be between 1h and 400 days")
	assert.ErrorContains(t, err, "a task queue is required")
}

func TestActionRunsABackfillWithFixOverTheTrailingWindow(t *testing.T) {
	a := Settings{Every: time.Hour, Window: 48 * time.Hour, OrgID: "org", TaskQueue: "q"}.action()
	assert.Equal(t, workflows.BackfillWorkflowName, a.Workflow)
	assert.Equal(t, ScheduleID, a.ID)
	assert.Equal(t, []any{workflows.BackfillInput{Trailing: 48 * time.Hour, OrgID: "org", Fix: true}}, a.Args)
}
