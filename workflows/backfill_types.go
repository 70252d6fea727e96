package workflows

import "time"

// Types of Backfill: its input, carried state, report and the requests of
// its activities.

// BackfillInput starts a Backfill.
type BackfillInput struct {
	// From and To bound conversationStart, [From, To).
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`
	// Trailing, when set instead of From and To, makes the interval the
	// Trailing before the workflow started: what the scheduled sweep uses.
	Trailing time.Duration `json:"trailing,omitempty"`
	// OrgID is stored with every conversation the backfill ingests (the
	// details query does not name the org).
	OrgID string `json:"org,omitempty"`
	// Fix ingests every conversation found that is not stored complete;
	// without it the workflow only reports (reconcile).
	Fix bool `json:"fix,omitempty"`
	// Options of the batches it starts, as the forwarder's.
	Options Options `json:"options"`
	// PagingLimit is how deep Genesys pages a query (pageNumber × pageSize);
	// 0 means Genesys's 100,000. Tests lower it with the simulator's.
	PagingLimit int `json:"pagingLimit,omitempty"`
	// Carry is set only by continue-as-new.
	Carry *BackfillCarry `json:"carry,omitempty"`
}

// BackfillCarry is a Backfill's state across continue-as-new. No batch is
// running when it is taken.
type BackfillCarry struct {
	Cursor BackfillCursor `json:"cursor"`
	Report BackfillReport `json:"report"`
	// Pending were found and are not stored complete: the next batch's.
	Pending []ConversationRef `json:"pending,omitempty"`
}

// BackfillCursor is where the walk over the interval is.
type BackfillCursor struct {
	// Day is the first UTC day of the window being walked.
	Day time.Time `json:"day"`
	// Days is the window's length; 0 until its first page sized it.
	Days int `json:"days,omitempty"`
	// Page is the next page to ask for, from 1.
	Page int `json:"page"`
	// Desc: walking a day with more conversations than PagingLimit from its
	// end, after its first PagingLimit from its start.
	Desc bool `json:"desc,omitempty"`
	// Hits is the window's totalHits when its first page came.
	Hits int `json:"hits,omitempty"`
	// Recent are the ids of the last two pages: results drift while
	// Genesys indexes, so a page may repeat ids of the one before.
	Recent []string `json:"recent,omitempty"`
}

// BackfillReport is what a Backfill found and did; its progress query
// returns it, the Web UI shows it and it is written to the batches table
// when the workflow finishes.
type BackfillReport struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	Fix  bool      `json:"fix"`
	// Days holds one row per UTC day of conversationStart, in order.
	Days []DayReport `json:"days"`
	// Totals sums Days.
	Totals DayReport `json:"totals"`
	// DaysWalked of DaysTotal are done.
	DaysWalked int `json:"daysWalked"`
	DaysTotal  int `json:"daysTotal"`
	// Windows queried and the details-query requests they took.
	Windows       int `json:"windows"`
	QueryRequests int `json:"queryRequests"`
	// Batches started (Fix) and what became of their conversations.
	Batches          int `json:"batches"`
	Submitted        int `json:"submitted"`
	StoredComplete   int `json:"storedComplete"`
	StoredIncomplete int `json:"storedIncomplete"`
	Unchanged        int `json:"unchanged"`
	Failed           int `json:"failed"`
	// Unreachable conversations lie beyond what Genesys lets a query page
	// to, even from both ends of a day; Problems says which days.
	Unreachable int       `json:"unreachable,omitempty"`
	Problems    []string  `json:"problems,omitempty"`
	StartedAt   time.Time `json:"startedAt"`
	FinishedAt  time.Time `json:"finishedAt,omitzero"`
	Runs        int       `json:"runs"`
}

// DayReport compares one day of Genesys with the table. Found counts the
// conversations Genesys has that ended (the query asks for conversationEnd);
// the other counts are what the table held when the backfill looked.
type DayReport struct {
	Day        string `json:"day,omitempty"` // YYYY-MM-DD, UTC
	Found      int    `json:"found"`
	Complete   int    `json:"complete"`
	Incomplete int    `json:"incomplete"`
	Failed     int    `json:"failed"`
	Missing    int    `json:"missing"`
}

// Clean: nothing missing, incomplete or failed, and nothing unreachable.
func (r BackfillReport) Clean() bool {
	return r.Totals.Missing == 0 && r.Totals.Incomplete == 0 && r.Totals.Failed == 0 && r.Unreachable == 0 && len(r.Problems) == 0
}

// Fixed: after a backfill with Fix, every conversation found is stored
// complete (or was), and nothing was out of reach.
func (r BackfillReport) Fixed() bool {
	return r.Fix && r.Failed == 0 && r.StoredIncomplete == 0 && r.Unreachable == 0 && len(r.Problems) == 0 &&
		r.Submitted == r.StoredComplete+r.Unchanged
}

// BackfillProgress is what a Backfill's progress query returns.
type BackfillProgress struct {
	Report BackfillReport `json:"report"`
	// Done is the share of the interval walked, 0 to 1.
	Done float64 `json:"done"`
	// ETA is when the walk should end at the pace so far; zero until it can
	// be told.
	ETA time.Time `json:"eta,omitzero"`
	// BatchesRunning and Pending (found, not handed to a batch yet).
	BatchesRunning int `json:"batchesRunning"`
	Pending        int `json:"pending"`
	// FetchRequests estimates the Genesys requests the batches spend: one
	// per FetchBatchSize conversations submitted.
	FetchRequests int `json:"fetchRequests"`
}

// DetailsQueryRequest asks for one page of the conversations that ended and
// started on the UTC days [From, From+Days).
type DetailsQueryRequest struct {
	From       time.Time `json:"from"`
	Days       int       `json:"days"`
	PageSize   int       `json:"pageSize"`
	PageNumber int       `json:"pageNumber"`
	Desc       bool      `json:"desc,omitempty"`
}

// DetailsQueryPage is one page of a details query, reduced to what the
// backfill needs.
type DetailsQueryPage struct {
	TotalHits     int                   `json:"totalHits"`
	Conversations []QueriedConversation `json:"conversations,omitempty"`
}

// QueriedConversation is one conversation of a page.
type QueriedConversation struct {
	ID string `json:"id"`
	// Start is conversationStart in epoch milliseconds.
	Start int64 `json:"s"`
}

// ClassifyRequest asks how the table holds these conversations.
type ClassifyRequest struct {
	IDs []string `json:"ids"`
}

// ClassifyResult names the stored ones by status; an id in none is not in
// the table.
type ClassifyResult struct {
	Complete   []string `json:"complete,omitempty"`
	Incomplete []string `json:"incomplete,omitempty"`
	Failed     []string `json:"failed,omitempty"`
}

// BackfillRecordRequest writes a finished backfill's report.
type BackfillRecordRequest struct {
	WorkflowID string         `json:"workflowId"`
	Report     BackfillReport `json:"report"`
}
