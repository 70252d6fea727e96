package workflows

import "time"

// Types of FetchScheduler: the fetch activity's request and result, the
// submission protocol with the batches, and the scheduler's carried state.

// FetchRequest is the fetch activity's input: one chunk, one Genesys request.
type FetchRequest struct {
	// OrgID is the org of every conversation that names none.
	OrgID         string            `json:"org,omitempty"`
	Conversations []ConversationRef `json:"conversations"`
	// StoreIncomplete stores conversations that have no conversationEnd yet,
	// with status incomplete; set once the readiness deadline has passed.
	StoreIncomplete bool `json:"storeIncomplete,omitempty"`
	// Requesters are the batch workflows that asked for the chunk's
	// conversations, and RequestedBy[i] indexes the ones that asked for
	// Conversations[i] (at most MaxRequestersPerConversation): the activity
	// records them on the items it writes, for `starter conversations
	// where`. Requests scheduled before they were added have neither.
	Requesters  []string `json:"requesters,omitempty"`
	RequestedBy [][]int  `json:"requestedBy,omitempty"`
}

// MaxRequestersPerConversation bounds FetchRequest.RequestedBy[i]: the
// batches recorded on an item are bounded too, and one conversation is
// rarely wanted by more than two batches at once.
const MaxRequestersPerConversation = 5

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
	// AwaitingWrapUpIDs were stored complete while an agent's wrap-up code
	// was not indexed yet: the scheduler fetches them again when an acw
	// event's batch asks, instead of answering from its memory of this run.
	AwaitingWrapUpIDs []string `json:"awaitingWrapUpIds,omitempty"`
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
	// Backfill submissions queue in the backfill lane: fetched with what
	// live traffic leaves of the budget.
	Backfill bool `json:"backfill,omitempty"`
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
	Queue    []CarriedFetch      `json:"queue,omitempty"`
	Waitlist []SubmissionKey     `json:"waitlist,omitempty"`
	Invited  []CarriedInvitation `json:"invited,omitempty"`
	Stats    SchedulerStats      `json:"stats"`
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
	ID    string `json:"id"`
	OrgID string `json:"org,omitempty"`
	// StoreIncomplete: queued for a batch whose readiness deadline passed.
	// The JSON name predates the field's and is kept for carried state.
	StoreIncomplete bool `json:"final,omitempty"`
	// Backfill: queued in the backfill lane.
	Backfill bool  `json:"b,omitempty"`
	Waiters  []int `json:"w"`
}

// CarriedInvitation is a waitlisted submission asked to submit again, and
// when. Its JSON extends the SubmissionKey that earlier runs carried; one
// carried without At expires at once.
type CarriedInvitation struct {
	SubmissionKey
	At time.Time `json:"at,omitzero"`
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
	// BackfillChunks counts the chunks of the backfill lane.
	BackfillChunks int `json:"backfillChunks,omitempty"`
	// GenesysRequests counts requests, retries included.
	GenesysRequests int `json:"genesysRequests"`
	Runs            int `json:"runs"`
}

// SchedulerProgress is what the scheduler's progress query returns.
type SchedulerProgress struct {
	Stats  SchedulerStats `json:"stats"`
	Queued int            `json:"queued"`
	// BackfillQueued and BackfillInFlight are the backfill lane's share.
	BackfillQueued   int `json:"backfillQueued"`
	InFlight         int `json:"inFlight"`
	BackfillInFlight int `json:"backfillInFlight"`
	Open             int `json:"open"`
	Waitlisted       int `json:"waitlisted"`
	// SignalsInFlight to batches, unanswered; SignalsWaiting for room
	// under maxSignalsInFlight.
	SignalsInFlight int     `json:"signalsInFlight"`
	SignalsWaiting  int     `json:"signalsWaiting"`
	Options         Options `json:"options"`
}
