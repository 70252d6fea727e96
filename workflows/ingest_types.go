package workflows

// Types of IngestConversations: its input, carried state, result and the
// requests of its activities.

import "time"

// IngestInput starts IngestConversations.
type IngestInput struct {
	// BatchID names the delivery the conversations came from (for logs).
	BatchID string `json:"batchId,omitempty"`
	// Conversations are fetched at once; ids must be unique.
	Conversations []ConversationRef `json:"conversations"`
	Options       Options           `json:"options"`
	// Backfill batches are started by a Backfill workflow: their fetches
	// take what live batches leave of the request budget.
	Backfill bool `json:"backfill,omitempty"`
	// Carry is set only by continue-as-new.
	Carry *Carry `json:"carry,omitempty"`
}

// Carry is the state a run hands to the next one when it continues as new.
type Carry struct {
	// Deadline is when conversations that are still not ready get stored as
	// they are (status incomplete).
	Deadline time.Time `json:"deadline"`
	// Polls is how many readiness polls have been made, for interval growth.
	Polls int `json:"polls"`
	// Waiting conversations were not ready; they are fetched again at NextPollAt.
	Waiting    []ConversationRef `json:"waiting,omitempty"`
	NextPollAt time.Time         `json:"nextPollAt,omitempty"`
	Summary    Summary           `json:"summary"`
	// Seq is the last submission number used.
	Seq int `json:"seq,omitempty"`
	// Timeline is zero in runs carried before it existed.
	Timeline Timeline `json:"timeline,omitzero"`
}

// Summary is the workflow's result.
type Summary struct {
	Received         int       `json:"received"`
	StoredComplete   int       `json:"storedComplete"`
	StoredIncomplete int       `json:"storedIncomplete"`
	Unchanged        int       `json:"unchanged"`
	Failed           int       `json:"failed"`
	Failures         []Failure `json:"failures,omitempty"`
	// Submissions counts the FetchSubmissions sent to the scheduler,
	// readiness polls included.
	Submissions int `json:"submissions"`
	Runs        int `json:"runs"`
}

// Timeline is when a batch started, the earliest event among its
// conversations, and when it last stored one; its audit record keeps them
// so that event-to-stored latency can be read after the history is gone.
type Timeline struct {
	StartedAt time.Time `json:"startedAt"`
	// FirstEventAt is the earliest eventTime in epoch ms; 0 when unknown.
	FirstEventAt int64     `json:"firstEventAt,omitempty"`
	LastStoredAt time.Time `json:"lastStoredAt,omitzero"`
}

// ConversationFailure is a failure as RecordFailedConversations writes it:
// with the org and the times of the events that asked for the conversation.
type ConversationFailure struct {
	Failure
	OrgID string `json:"org,omitempty"`
	// FirstEventAt and LastEventAt in epoch milliseconds; 0 when unknown.
	FirstEventAt int64 `json:"firstEventAt,omitempty"`
	LastEventAt  int64 `json:"lastEventAt,omitempty"`
}

// RecordFailuresRequest is RecordFailedConversations' input.
type RecordFailuresRequest struct {
	Failures []ConversationFailure `json:"failures"`
}

// BatchRecordRequest is RecordBatch's input: the finished batch's summary.
type BatchRecordRequest struct {
	BatchID    string    `json:"batchId"`
	Delivery   string    `json:"delivery,omitempty"`
	Timeline   Timeline  `json:"timeline"`
	FinishedAt time.Time `json:"finishedAt"`
	Summary    Summary   `json:"summary"`
}

// Progress is what the progress query returns.
type Progress struct {
	Summary Summary `json:"summary"`
	Pending int     `json:"pending"`
	// Submitted conversations are with the scheduler.
	Submitted  int       `json:"submitted"`
	Waiting    int       `json:"waiting"`
	Polls      int       `json:"polls"`
	NextPollAt time.Time `json:"nextPollAt,omitempty"`
	Deadline   time.Time `json:"deadline"`
	// SchedulerStuck is why the fetch scheduler makes no progress, as the
	// batch's last check found; empty when it does.
	SchedulerStuck string `json:"schedulerStuck,omitempty"`
}

// StoredRequest asks which of these conversations are stored complete.
type StoredRequest struct {
	IDs []string `json:"ids"`
}

// StoredResult names the ones that are.
type StoredResult struct {
	Complete []string `json:"complete,omitempty"`
}

// SchedulerCheckRequest asks CheckFetchScheduler about a batch's scheduler.
type SchedulerCheckRequest struct {
	SchedulerID string `json:"schedulerId"`
	BatchID     string `json:"batchId"`
}

// SchedulerCheck is what CheckFetchScheduler found. Stuck says why the
// scheduler makes no progress; empty when it does, or is not running (the
// batch's ping then starts a new one).
type SchedulerCheck struct {
	Running       bool   `json:"running"`
	HistoryLength int64  `json:"historyLength,omitempty"`
	Queued        int    `json:"queued,omitempty"`
	InFlight      int    `json:"inFlight,omitempty"`
	Stuck         string `json:"stuck,omitempty"`
}
