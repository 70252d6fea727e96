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
	// ProgressQuery returns the workflow's Progress.
	ProgressQuery = "progress"

	// DefaultTaskQueue runs workflows and everything that does not call Genesys.
	DefaultTaskQueue = "genesys-ingest"
	// DefaultGenesysTaskQueue runs only the Genesys fetch activities, so the
	// queue-wide rate limit set on it equals the Genesys request rate.
	DefaultGenesysTaskQueue = "genesys-ingest-genesys"
)

// Error types the fetch activity returns as temporal.ApplicationError types.
// The workflow branches on them; the worker marks the permanent ones
// non-retryable.
const (
	// ErrTypeBadRequest: Genesys answered 400 for a request. For a chunk of
	// several ids the workflow splits it to isolate the id that caused it.
	ErrTypeBadRequest = "GenesysBadRequest"
	// ErrTypeRejected: any other permanent refusal (401 after a token renewal,
	// 403, 404 on a multi-get, 422...). Reported for every id of the chunk.
	ErrTypeRejected = "GenesysRejected"
	// ErrTypeRateLimited: 429; retried after the server's Retry-After.
	ErrTypeRateLimited = "GenesysRateLimited"
	// ErrTypeUnavailable: 5xx, 504 request.timeout, token endpoint throttling.
	ErrTypeUnavailable = "GenesysUnavailable"
	// ErrTypeMalformed: a 2xx response that is not the documented JSON.
	ErrTypeMalformed = "GenesysMalformedResponse"
	// ErrTypeInvalidRecord: a conversation that cannot be mapped to an item.
	ErrTypeInvalidRecord = "InvalidConversationRecord"
)

// Defaults for Options; the config package documents and validates them.
const (
	DefaultFetchBatchSize    = 100
	DefaultFetchConcurrency  = 10
	DefaultReadyPollInterval = time.Minute
	DefaultReadyTimeout      = 2 * time.Hour
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
}

// Failure explains why one conversation could not be stored.
type Failure struct {
	ConversationID string `json:"conversationId"`
	Reason         string `json:"reason"`
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
	GenesysRequests  int       `json:"genesysRequests"`
	Runs             int       `json:"runs"`
}

// Progress is what the progress query returns.
type Progress struct {
	Summary    Summary   `json:"summary"`
	Pending    int       `json:"pending"`
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
	Conversations []ConversationRef `json:"conversations"`
	// StoreIncomplete stores conversations that have no conversationEnd yet,
	// with status incomplete; set once the readiness deadline has passed.
	StoreIncomplete bool `json:"storeIncomplete,omitempty"`
}

// FetchResult is deliberately compact: it names only the conversations that
// need the workflow's attention, so history stays small.
type FetchResult struct {
	StoredComplete   int `json:"complete,omitempty"`
	StoredIncomplete int `json:"incomplete,omitempty"`
	Unchanged        int `json:"unchanged,omitempty"`
	// NotReady lists ids that were absent or had no conversationEnd (and were
	// not stored because StoreIncomplete was false, or were absent).
	NotReady []string  `json:"notReady,omitempty"`
	Failed   []Failure `json:"failed,omitempty"`
	// Requests is the number of Genesys API requests made, retries included.
	Requests int `json:"requests"`
}
