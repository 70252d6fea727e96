// Package workflows holds the ingestion workflow and the types it exchanges with
// the forwarder that starts it and the activities it schedules. It imports no
// I/O packages, so the Lambda that starts workflows stays small and the
// workflow code stays deterministic.
package workflows

import (
	"time"
)

// Names shared by the starter, the worker and the workflow. The activity is
// registered by name so this package does not depend on the activities package.
const (
	// IngestWorkflowName is the registered name of IngestConversations.
	IngestWorkflowName = "IngestConversations"
	// FetchActivityName is the registered name of the activity that fetches one
	// chunk of conversations from Genesys and stores them.
	FetchActivityName = "FetchAndStoreConversations"
	// FindStoredActivityName is the local activity that finds which
	// conversations are already stored complete, so that a conversation
	// whose events arrived in several batches is fetched once.
	FindStoredActivityName = "FindStoredConversations"
	// RecordFailuresActivityName writes a failed item for each conversation
	// a batch gave up on, so the failure outlives workflow history.
	RecordFailuresActivityName = "RecordFailedConversations"
	// RecordBatchActivityName writes a finished batch's audit record.
	RecordBatchActivityName = "RecordBatch"
	// FetchSchedulerWorkflowName is the registered name of FetchScheduler.
	FetchSchedulerWorkflowName = "FetchScheduler"
	// ProgressQuery returns the workflow's Progress (IngestConversations) or
	// SchedulerProgress (FetchScheduler).
	ProgressQuery = "progress"

	// SubmitFetchesSignal carries a FetchSubmission to the scheduler.
	SubmitFetchesSignal = "submit-fetches"
	// FetchReportSignal carries a FetchReport back to the submitting workflow.
	FetchReportSignal = "fetch-report"
	// ResubmitSignal carries a ResubmitRequest: the scheduler had no room for
	// a submission when it came and has room now.
	ResubmitSignal = "resubmit-fetches"

	// DefaultTaskQueue runs workflows and everything that does not call Genesys.
	DefaultTaskQueue = "genesys-ingest"
	// DefaultGenesysTaskQueue runs only the Genesys fetch activities, so the
	// queue-wide rate limit set on it equals the Genesys request rate.
	DefaultGenesysTaskQueue = "genesys-ingest-genesys"
)

// FetchSchedulerID is the workflow id of the one scheduler that fetches for
// every batch whose fetches go to genesysTaskQueue, i.e. that spend one
// OAuth client's request budget.
func FetchSchedulerID(genesysTaskQueue string) string {
	return "genesys-fetch-scheduler-" + genesysTaskQueue
}

// Error types the fetch activity returns as temporal.ApplicationError types.
// Two kinds matter. Systemic errors (Genesys or DynamoDB unavailable,
// throttling, a client that lost its credentials or permission) say
// nothing about the conversations: the activity retries them with capped
// backoff until Options.FetchRetryHorizon. Errors one conversation can cause
// are isolated: a chunk of several ids is split until the id is alone, and a
// lone id is reported failed in the FetchResult, not as an error.
const (
	// ErrTypeBadRequest: Genesys refused a request for something one of its
	// ids may cause (400, 404 on a multi-get, 422, a response too large).
	// Never retried; the scheduler splits the chunk.
	ErrTypeBadRequest = "GenesysBadRequest"
	// ErrTypeRejected was a permanent refusal reported for every id of the
	// chunk. No longer returned (those are systemic or per conversation
	// now); kept so that recorded histories still replay.
	ErrTypeRejected = "GenesysRejected"
	// ErrTypeRateLimited: 429; retried after the server's Retry-After.
	ErrTypeRateLimited = "GenesysRateLimited"
	// ErrTypeUnavailable: network errors, 5xx, 504 request.timeout, token
	// endpoint faults and throttling, a response that is not JSON at all.
	ErrTypeUnavailable = "GenesysUnavailable"
	// ErrTypeUnauthorized: the OAuth client is refused (401 after a token
	// renewal, 403, rejected client credentials). Systemic: an operator
	// restores the permission and ingestion resumes where it was.
	ErrTypeUnauthorized = "GenesysUnauthorized"
	// ErrTypeMalformed: a 2xx response that is not the documented JSON.
	ErrTypeMalformed = "GenesysMalformedResponse"
	// ErrTypeInvalidRecord: a conversation that cannot be mapped to an item.
	ErrTypeInvalidRecord = "InvalidConversationRecord"
	// ErrTypeStoreUnavailable: DynamoDB stayed unavailable or throttled for
	// the whole attempt; the fetched records were kept until then.
	ErrTypeStoreUnavailable = "StoreUnavailable"
)

// Defaults for Options; the config package documents and validates them.
const (
	DefaultFetchBatchSize = 100
	// DefaultFetchConcurrency is the number of fetch activities the scheduler
	// keeps scheduled at once: enough to keep the rate-limited queue busy.
	DefaultFetchConcurrency  = 10
	DefaultReadyPollInterval = time.Minute
	DefaultReadyTimeout      = 2 * time.Hour
	// DefaultFetchRetryHorizon is how long a chunk blocked by a systemic
	// error (an outage, lost permission) is retried before its
	// conversations are recorded failed: longer than a long weekend, so
	// that an operator has time to notice the alarm and fix the cause.
	DefaultFetchRetryHorizon = 72 * time.Hour
	// DefaultFetchRetryMaxInterval caps the backoff between attempts of a
	// blocked chunk, so ingestion resumes within minutes of a recovery.
	DefaultFetchRetryMaxInterval = 2 * time.Minute
	// MaxFetchBatchSize is the multi-get size Genesys is known to accept.
	MaxFetchBatchSize = 100
	// MaxFetchConcurrency stays well below Temporal's 2,000 pending
	// activities per execution.
	MaxFetchConcurrency = 500
)

// ConversationRef is one conversation to ingest, with where its event came from.
// Field names are short because a 10,000-id batch carries 10,000 of them
// through workflow history.
type ConversationRef struct {
	ID string `json:"id"`
	// OrgID is the Genesys org id taken from the event source, if known.
	OrgID string `json:"org,omitempty"`
	// Topic is the event kind, the topic template's tail (customer.end, acw).
	Topic string `json:"topic,omitempty"`
	// EventTime is the event's eventTime in epoch milliseconds, if known.
	EventTime int64 `json:"t,omitempty"`
}

// Options tune one ingestion. Zero values mean the defaults above; the
// forwarder fills them from its configuration so the workflow never reads the
// environment.
type Options struct {
	FetchBatchSize    int           `json:"fetchBatchSize,omitempty"`
	FetchConcurrency  int           `json:"fetchConcurrency,omitempty"`
	ReadyPollInterval time.Duration `json:"readyPollInterval,omitempty"`
	ReadyTimeout      time.Duration `json:"readyTimeout,omitempty"`
	GenesysTaskQueue  string        `json:"genesysTaskQueue,omitempty"`
	// FetchRetryHorizon and FetchRetryMaxInterval bound the retries of a
	// chunk blocked by a systemic error.
	FetchRetryHorizon     time.Duration `json:"fetchRetryHorizon,omitempty"`
	FetchRetryMaxInterval time.Duration `json:"fetchRetryMaxInterval,omitempty"`
}

// IngestInput starts IngestConversations.
type IngestInput struct {
	// BatchID names the delivery the conversations came from (for logs).
	BatchID string `json:"batchId,omitempty"`
	// Conversations are fetched at once; ids must be unique.
	Conversations []ConversationRef `json:"conversations"`
	Options       Options           `json:"options"`
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

// Failure explains why one conversation could not be stored.
type Failure struct {
	ConversationID string `json:"conversationId"`
	Reason         string `json:"reason"`
	// Attempts counts the fetch attempts behind the failure, when known.
	Attempts int `json:"attempts,omitempty"`
}

// MaxReportedFailures bounds Summary.Failures so a batch in which everything
// fails still returns a small result; Summary.Failed keeps the full count.
const MaxReportedFailures = 200

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
}

// StoredRequest asks which of these conversations are stored complete.
type StoredRequest struct {
	IDs []string `json:"ids"`
}

// StoredResult names the ones that are.
type StoredResult struct {
	Complete []string `json:"complete,omitempty"`
}

// FetchRequest is the fetch activity's input: one chunk, one Genesys request.
type FetchRequest struct {
	// OrgID is the org of every conversation that names none.
	OrgID         string            `json:"org,omitempty"`
	Conversations []ConversationRef `json:"conversations"`
	// StoreIncomplete stores conversations that have no conversationEnd yet,
	// with status incomplete; set once the readiness deadline has passed.
	StoreIncomplete bool `json:"storeIncomplete,omitempty"`
}

// FetchResult is deliberately compact: every conversation of the request
// that it does not name was stored complete.
type FetchResult struct {
	StoredComplete   int `json:"complete,omitempty"`
	StoredIncomplete int `json:"incomplete,omitempty"`
	Unchanged        int `json:"unchanged,omitempty"`
	// IncompleteIDs and UnchangedIDs name the conversations counted in
	// StoredIncomplete and Unchanged, so the scheduler can tell each
	// submitting batch what happened to its own.
	IncompleteIDs []string `json:"incompleteIds,omitempty"`
	UnchangedIDs  []string `json:"unchangedIds,omitempty"`
	// NotReady lists ids that were absent or had no conversationEnd (and were
	// not stored because StoreIncomplete was false, or were absent).
	NotReady []string  `json:"notReady,omitempty"`
	Failed   []Failure `json:"failed,omitempty"`
	// Requests is the number of Genesys API requests made, retries included.
	Requests int `json:"requests"`
}

// FetchSubmission hands conversations from a batch to the scheduler.
type FetchSubmission struct {
	// Requester is the batch's workflow id; the FetchReport goes there.
	Requester string `json:"requester"`
	// Seq numbers the batch's submissions; a repeated (Requester, Seq) is
	// ignored, so the batch can always send a submission again.
	Seq int `json:"seq"`
	// OrgID is the org of every conversation that names none.
	OrgID         string            `json:"org,omitempty"`
	Conversations []ConversationRef `json:"conversations"`
	// StoreIncomplete: the batch's readiness deadline has passed.
	StoreIncomplete bool `json:"storeIncomplete,omitempty"`
	// Options of the batch; the scheduler follows the latest submission's
	// FetchBatchSize and FetchConcurrency.
	Options Options `json:"options"`
	// Ping carries no conversations: the batch has had no report for a
	// while and asks to be told (ResubmitSignal) if the scheduler does not
	// know the submission.
	Ping bool `json:"ping,omitempty"`
}

// FetchReport tells a batch what happened to one of its submissions. Every
// conversation of the submission is counted exactly once.
type FetchReport struct {
	Seq              int `json:"seq"`
	StoredComplete   int `json:"complete,omitempty"`
	StoredIncomplete int `json:"incomplete,omitempty"`
	// Unchanged were already stored, by this batch or another one.
	Unchanged int       `json:"unchanged,omitempty"`
	NotReady  []string  `json:"notReady,omitempty"`
	Failed    []Failure `json:"failed,omitempty"`
}

// ResubmitRequest asks a batch to send submission Seq again.
type ResubmitRequest struct {
	Seq int `json:"seq"`
}

// SubmissionKey identifies a submission.
type SubmissionKey struct {
	Requester string `json:"r"`
	Seq       int    `json:"s"`
}

// SchedulerInput starts FetchScheduler.
type SchedulerInput struct {
	Options Options `json:"options"`
	// First is the submission of the batch that found no scheduler running.
	First *FetchSubmission `json:"first,omitempty"`
	// Carry is set only by continue-as-new.
	Carry *SchedulerCarry `json:"carry,omitempty"`
}

// SchedulerCarry is the scheduler's state across continue-as-new. Nothing is
// in flight when it is taken.
type SchedulerCarry struct {
	// OrgID is the org of every queued conversation that names none.
	OrgID string `json:"org,omitempty"`
	// Open submissions in arrival order.
	Open []CarriedSubmission `json:"open,omitempty"`
	// Queue holds the conversations not fetched yet, in order.
	Queue    []CarriedFetch  `json:"queue,omitempty"`
	Waitlist []SubmissionKey `json:"waitlist,omitempty"`
	Invited  []SubmissionKey `json:"invited,omitempty"`
	Stats    SchedulerStats  `json:"stats"`
}

// CarriedSubmission is an open submission: Pending conversations to go and
// the report so far.
type CarriedSubmission struct {
	Key     SubmissionKey `json:"key"`
	Pending int           `json:"pending"`
	Report  FetchReport   `json:"report"`
}

// CarriedFetch is one queued conversation. Waiters index Open; the first one
// submitted it first.
type CarriedFetch struct {
	ID      string `json:"id"`
	OrgID   string `json:"org,omitempty"`
	Final   bool   `json:"final,omitempty"`
	Waiters []int  `json:"w"`
}

// SchedulerStats are the scheduler's running totals.
type SchedulerStats struct {
	Submissions int `json:"submissions"`
	// Conversations counts the conversations submitted.
	Conversations int `json:"conversations"`
	// Coalesced conversations were already queued or being fetched for
	// another submission, or stored during this run: no request of their own.
	Coalesced int `json:"coalesced"`
	// Waitlisted counts submissions that had to wait for room.
	Waitlisted int `json:"waitlisted"`
	Chunks     int `json:"chunks"`
	// GenesysRequests counts requests, retries included.
	GenesysRequests int `json:"genesysRequests"`
	Runs            int `json:"runs"`
}

// SchedulerProgress is what the scheduler's progress query returns.
type SchedulerProgress struct {
	Stats      SchedulerStats `json:"stats"`
	Queued     int            `json:"queued"`
	InFlight   int            `json:"inFlight"`
	Open       int            `json:"open"`
	Waitlisted int            `json:"waitlisted"`
	Options    Options        `json:"options"`
}
