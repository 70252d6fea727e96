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
	// FetchSettingsActivityName is the local activity that tells the
	// scheduler the worker's FetchSettings.
	FetchSettingsActivityName = "FetchSettings"
	// CheckSchedulerActivityName tells a batch that has heard nothing for a
	// while whether its fetch scheduler is making progress.
	CheckSchedulerActivityName = "CheckFetchScheduler"
	// BackfillWorkflowName is the registered name of Backfill.
	BackfillWorkflowName = "Backfill"
	// QueryDetailsActivityName asks Genesys's details query for one page of
	// conversations; it runs on the Genesys task queue, inside the budget.
	QueryDetailsActivityName = "QueryConversationDetails"
	// ClassifyActivityName is the local activity that tells which of a
	// page's conversations the table holds, and how.
	ClassifyActivityName = "ClassifyStoredConversations"
	// RecordBackfillActivityName writes a finished backfill's report.
	RecordBackfillActivityName = "RecordBackfill"
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
