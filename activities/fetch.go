// Package activities holds the workflow's I/O: fetching conversations from
// Genesys Cloud and storing them in DynamoDB. The Genesys client and the
// DynamoDB store live in the genesys and store subpackages.
package activities

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/genesys-ingest/genesys-ingest/activities/genesys"
	"github.com/genesys-ingest/genesys-ingest/activities/store"
	"github.com/genesys-ingest/genesys-ingest/workflows"
)

// GenesysClient is the part of *genesys.Client the fetch activity uses.
type GenesysClient interface {
	FetchConversations(ctx context.Context, ids []string) (*genesys.Fetched, error)
	FetchConversationsByQuery(ctx context.Context, ids []string, from, to time.Time) (*genesys.Fetched, error)
}

// DetailSource is the Genesys endpoint the fetch activity reads records
// from (GENESYS_DETAIL_SOURCE). Both make one request per chunk of up to
// 100 conversations.
type DetailSource string

const (
	// SourceMultiGet is GET /api/v2/analytics/conversations/details?id=...,
	// which finds a conversation whenever it started; the default.
	SourceMultiGet DetailSource = "multiget"
	// SourceQuery is POST /api/v2/analytics/conversations/details/query
	// with conversationId predicates, which also returns the participants'
	// attributes, but only of conversations that started within its
	// interval (queryWindow).
	SourceQuery DetailSource = "query"
)

// DetailSources are the valid sources, for validation and messages.
var DetailSources = []DetailSource{SourceMultiGet, SourceQuery}

// queryWindowDays is the longest interval Genesys accepts for a details
// query with a filter.
const queryWindowDays = 31

// Store is the part of *store.Table the activities use.
type Store interface {
	UpsertAll(ctx context.Context, recs []store.Record) ([]store.Outcome, error)
	CompleteIDs(ctx context.Context, ids []string) (map[string]bool, error)
}

// topicACW is the ConversationRef.Topic of an acw event (the topic
// template's tail, as the intake names it).
const topicACW = "acw"

// requestTimeoutRetryDelay is how long Genesys says a 504 request.timeout
// takes to clear.
const requestTimeoutRetryDelay = 10 * time.Second

// Fetcher runs the fetch activity. The worker builds one and registers its
// method; tests build it with fakes.
type Fetcher struct {
	Genesys GenesysClient
	Store   Store
	// Source is where records come from; SourceMultiGet when empty.
	Source DetailSource
	// Mapping is what items keep beyond the record's figures (contact
	// addresses).
	Mapping store.Mapping
	// Now stamps fetchedAt; time.Now when nil.
	Now func() time.Time

	breaker genesysBreaker
}

// FetchAndStoreConversations fetches one chunk of conversations with a single
// Genesys request and stores every complete one (and, when asked, every
// incomplete one) right here, so that the large analytics records never pass
// through workflow history. It returns only counts and the ids that need the
// workflow's attention.
//
// Errors come in two kinds. Systemic ones (Genesys or its token endpoint
// unavailable or throttling, the client's permission gone, DynamoDB
// unavailable) are returned for Temporal to retry until the workflow's
// FETCH_RETRY_HORIZON, and counted in genesys_ingest_blocked. What one
// conversation can cause is isolated: a refused multi-get returns
// ErrTypeBadRequest so the scheduler splits the chunk, and a lone refused
// id, a record that cannot be mapped or one DynamoDB rejects is reported in
// FetchResult.Failed while every other conversation is stored.
//
// A fetched chunk keeps its records while DynamoDB is unavailable and
// retries the write, heartbeating, so an outage of the table costs no
// Genesys requests until the attempt's own timeout.
func (f *Fetcher) FetchAndStoreConversations(ctx context.Context, req workflows.FetchRequest) (workflows.FetchResult, error) {
	defer keepHeartbeating(ctx)()
	ids := make([]string, len(req.Conversations))
	for i, c := range req.Conversations {
		ids[i] = c.ID
	}
	attempt := int(activity.GetInfo(ctx).Attempt)
	// Every attempt makes one request; counting attempts counts the ones that
	// failed before this one too.
	result := workflows.FetchResult{Requests: attempt}

	if wait, last, ok := f.breaker.allow(f.now()); !ok {
		// No request: Genesys failed for this worker's other fetches too.
		return result, blocked(ctx, temporal.NewApplicationErrorWithOptions(
			"waiting for Genesys to recover before another request (last error: "+last.message+")",
			last.errType, temporal.ApplicationErrorOptions{NextRetryDelay: wait}))
	}
	fetched, err := f.fetch(ctx, req.Conversations, ids)
	if err != nil {
		reason, isPerConversation := perConversation(err)
		if !isPerConversation {
			classified := classify(err)
			f.breaker.failed(f.now(), retryDelay(classified), failure{message: classified.Error(), errType: errorType(classified)})
			return result, blocked(ctx, classified)
		}
		f.breaker.succeeded()
		if len(ids) == 1 {
			result.Failed = append(result.Failed, workflows.Failure{ConversationID: ids[0], Reason: reason, Attempts: attempt})
			recordMetrics(ctx, result)
			return result, nil
		}
		return result, classify(err)
	}
	f.breaker.succeeded()
	fetchedAt := f.now()

	var toStore []store.Record
	for i, ref := range req.Conversations {
		if reason, bad := fetched.Invalid[ref.ID]; bad {
			result.Failed = append(result.Failed, workflows.Failure{ConversationID: ref.ID, Attempts: attempt,
				Reason: fmt.Sprintf("%s: Genesys returned an unusable record: %s", workflows.ErrTypeInvalidRecord, reason)})
			continue
		}
		raw, ok := fetched.Conversations[ref.ID]
		if !ok {
			result.NotReady = append(result.NotReady, ref.ID)
			continue
		}
		rec, err := f.Mapping.NewRecord(raw, cmp.Or(ref.OrgID, req.OrgID), fetchedAt)
		if err != nil {
			result.Failed = append(result.Failed, workflows.Failure{ConversationID: ref.ID, Attempts: attempt,
				Reason: fmt.Sprintf("%s: %v", workflows.ErrTypeInvalidRecord, err)})
			continue
		}
		if !req.StoreIncomplete && (!rec.Complete() || ref.Topic == topicACW && len(rec.MissingWrapUps) > 0) {
			// An acw event means an agent's wrap-up exists: a record
			// without one is Genesys still indexing it, tens of seconds
			// after conversationEnd. The event does not name the agent to
			// us, so any agent's missing wrap-up counts.
			result.NotReady = append(result.NotReady, ref.ID)
			continue
		}
		// Empty when the ref does not carry its event's time and topic.
		rec.FirstEventAt, rec.LastEventTopic = timestamp(epochMillis(ref.EventTime)), ref.Topic
		rec.BatchIDs, rec.FetchedBy = handledBy(ctx, req, i)
		toStore = append(toStore, rec)
	}
	outcomes, err := f.upsertUntilStored(ctx, toStore, func(err error) {
		_ = blocked(ctx, temporal.NewApplicationError(err.Error(), workflows.ErrTypeStoreUnavailable))
	})
	var rejected *store.RejectedError
	if err != nil && !errors.As(err, &rejected) {
		return result, err
	}
	for i, rec := range toStore {
		if outcomes[i] != store.Rejected && rec.Complete() && len(rec.MissingWrapUps) > 0 {
			result.AwaitingWrapUpIDs = append(result.AwaitingWrapUpIDs, rec.ConversationID)
		}
		switch {
		case outcomes[i] == store.Rejected:
			result.Failed = append(result.Failed, workflows.Failure{ConversationID: rec.ConversationID, Attempts: attempt,
				Reason: "DynamoDB rejected the item: " + rejected.Reasons[rec.ConversationID]})
		case outcomes[i] == store.Unchanged:
			result.Unchanged++
			result.UnchangedIDs = append(result.UnchangedIDs, rec.ConversationID)
		case rec.Complete():
			result.StoredComplete++
		default:
			result.StoredIncomplete++
			result.IncompleteIDs = append(result.IncompleteIDs, rec.ConversationID)
		}
	}
	recordMetrics(ctx, result)
	recordFreshness(ctx, req.Conversations, toStore, outcomes, f.now())
	return result, nil
}

// fetch makes the chunk's one request to the configured source.
func (f *Fetcher) fetch(ctx context.Context, refs []workflows.ConversationRef, ids []string) (*genesys.Fetched, error) {
	if f.Source != SourceQuery {
		return f.Genesys.FetchConversations(ctx, ids)
	}
	from, to := queryWindow(refs, f.now())
	return f.Genesys.FetchConversationsByQuery(ctx, ids, from, to)
}

// queryWindow is the interval of the details query that fetches refs'
// conversations. Genesys matches a conversation by the UTC day it started,
// which its events do not tell but follow: the window is the longest
// Genesys allows, 31 days, ending with the UTC day of the latest event, or
// of now when a ref has no event time (retries, backfills), as the chunk
// has one request. Its width costs no extra request, and a narrower one
// would miss the conversations that ran for days (emails, messaging). A
// conversation whose event came more than 30 days after it started is
// reported not found: the multi-get source has no such limit. An event
// time more than a day ahead of this worker's clock is wrong, and would
// move the window past the conversations: it counts as a day ahead.
func queryWindow(refs []workflows.ConversationRef, now time.Time) (from, to time.Time) {
	var latest int64
	for _, ref := range refs {
		if ref.EventTime <= 0 {
			latest = max(latest, now.UnixMilli())
		}
		latest = max(latest, ref.EventTime)
	}
	latest = min(latest, now.Add(24*time.Hour).UnixMilli())
	to = time.UnixMilli(latest).UTC().Truncate(24*time.Hour).AddDate(0, 0, 1)
	return to.AddDate(0, 0, -queryWindowDays), to
}

// Backoff of the writes of a chunk while DynamoDB is unavailable.
const (
	storeRetryInitial = time.Second
	storeRetryMax     = 30 * time.Second
)

// upsertUntilStored upserts recs, retrying while DynamoDB fails, until the
// attempt has too little time left for another try; then it returns a
// retryable ErrTypeStoreUnavailable and the next attempt fetches again.
// onBlocked hears of each failed try.
func (f *Fetcher) upsertUntilStored(ctx context.Context, recs []store.Record, onBlocked func(error)) ([]store.Outcome, error) {
	delay := storeRetryInitial
	for {
		outcomes, err := f.Store.UpsertAll(ctx, recs)
		var rejected *store.RejectedError
		if err == nil || errors.As(err, &rejected) {
			return outcomes, err
		}
		if deadline, ok := ctx.Deadline(); ctx.Err() != nil || ok && time.Until(deadline) < delay+storeRetryMax {
			return nil, temporal.NewApplicationErrorWithOptions("store conversations: "+err.Error(),
				workflows.ErrTypeStoreUnavailable, temporal.ApplicationErrorOptions{})
		}
		onBlocked(err)
		select {
		case <-ctx.Done():
		case <-time.After(delay):
		}
		delay = min(2*delay, storeRetryMax)
	}
}

// heartbeatEvery is well inside the workflow's fetch heartbeat timeout, so a
// lost worker's chunk is retried within seconds while a slow Genesys
// response or a DynamoDB outage keeps its attempt alive.
const heartbeatEvery = 5 * time.Second

// keepHeartbeating heartbeats until the returned stop is called.
func keepHeartbeating(ctx context.Context) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(heartbeatEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	return func() { close(done) }
}

// blocked logs and counts a systemic error: ingestion waits for the cause
// to go away, and the deployment's ingestion-blocked alarm watches this log
// line. It returns err.
func blocked(ctx context.Context, err error) error {
	reason := "network"
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		if appErr.NonRetryable() {
			return err // per conversation: the workflow isolates it
		}
		reason = appErr.Type()
	}
	activity.GetMetricsHandler(ctx).WithTags(map[string]string{"reason": reason}).Counter("genesys_ingest_blocked").Inc(1)
	activity.GetLogger(ctx).Warn("ingestion blocked", "reason", reason, "error", err.Error())
	return err
}

// FindStoredConversations names the conversations already stored complete.
// The workflow runs it as a local activity just before fetching, so that a
// conversation whose events came in several batches, each with its own
// workflow, costs one Genesys request instead of one per batch. One stored
// complete without an agent's wrap-up code is not named: the batch may
// carry that agent's acw event, and a fetch now may find the wrap-up.
func (f *Fetcher) FindStoredConversations(ctx context.Context, req workflows.StoredRequest) (workflows.StoredResult, error) {
	complete, err := f.Store.CompleteIDs(ctx, req.IDs)
	if err != nil {
		return workflows.StoredResult{}, err
	}
	var res workflows.StoredResult
	for _, id := range req.IDs {
		if complete[id] {
			res.Complete = append(res.Complete, id)
		}
	}
	return res, nil
}

func (f *Fetcher) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

// errorType is err's Temporal error type; connection errors and timeouts,
// which are not application errors, are Genesys being unavailable.
func errorType(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Type()
	}
	return workflows.ErrTypeUnavailable
}

// retryDelay is the NextRetryDelay err asks for; 0 when none.
func retryDelay(err error) time.Duration {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.NextRetryDelay()
	}
	return 0
}

// perConversation reports whether err is something a single conversation id
// can cause, with the reason to record when that id is alone: a 400,
// 404 (only the multi-get answers it; for one id the client reports "not
// found yet" instead), 422 or another client error that is neither about
// the client's authority nor throttling, or a response too large to read.
func perConversation(err error) (string, bool) {
	if errors.Is(err, genesys.ErrResponseTooLarge) {
		return "the analytics record is larger than GENESYS_MAX_RESPONSE_BYTES: " + err.Error(), true
	}
	var apiErr *genesys.APIError
	if !errors.As(err, &apiErr) || errors.Is(err, genesys.ErrMalformedResponse) {
		return "", false
	}
	switch s := apiErr.Status; {
	case s == http.StatusUnauthorized, s == http.StatusForbidden, s == http.StatusRequestTimeout, s == http.StatusTooManyRequests:
		return "", false
	case s >= 400 && s < 500:
		return "Genesys refused the conversation: " + apiErr.Error(), true
	}
	return "", false
}

// classify turns a Genesys error into the Temporal error that makes the
// activity retry the right way: after Retry-After for a 429, with capped
// backoff for anything systemic, and never for what one id causes (the
// workflow splits the chunk).
func classify(err error) error {
	if _, ok := perConversation(err); ok {
		return temporal.NewApplicationErrorWithOptions(err.Error(), workflows.ErrTypeBadRequest,
			temporal.ApplicationErrorOptions{NonRetryable: true})
	}
	var apiErr *genesys.APIError
	var tokenErr *genesys.TokenError
	switch {
	case errors.Is(err, genesys.ErrMalformedResponse):
		return temporal.NewApplicationError(err.Error(), workflows.ErrTypeMalformed)
	case errors.As(err, &apiErr):
		switch {
		case apiErr.Status == http.StatusTooManyRequests:
			return temporal.NewApplicationErrorWithOptions(apiErr.Error(), workflows.ErrTypeRateLimited,
				temporal.ApplicationErrorOptions{NextRetryDelay: apiErr.RetryAfter})
		case apiErr.Status == http.StatusUnauthorized || apiErr.Status == http.StatusForbidden:
			// 401 after a fresh token, or 403: the client's credentials or
			// role changed, for every conversation alike.
			return temporal.NewApplicationError(apiErr.Error(), workflows.ErrTypeUnauthorized)
		default:
			delay := apiErr.RetryAfter
			if apiErr.Code == "request.timeout" && delay == 0 {
				delay = requestTimeoutRetryDelay
			}
			return temporal.NewApplicationErrorWithOptions(apiErr.Error(), workflows.ErrTypeUnavailable,
				temporal.ApplicationErrorOptions{NextRetryDelay: delay})
		}
	case errors.As(err, &tokenErr):
		if tokenErr.Retryable() {
			return temporal.NewApplicationErrorWithOptions(tokenErr.Error(), workflows.ErrTypeUnavailable,
				temporal.ApplicationErrorOptions{NextRetryDelay: tokenErr.RetryAfter})
		}
		// Rejected client credentials: an operator fixes the secret and
		// ingestion resumes.
		return temporal.NewApplicationError(tokenErr.Error(), workflows.ErrTypeUnauthorized)
	}
	// Connection errors and timeouts: retry with the policy's backoff.
	return err
}

// recordMetrics exports what one chunk did through the worker's metrics
// handler (Prometheus in production).
func recordMetrics(ctx context.Context, r workflows.FetchResult) {
	m := activity.GetMetricsHandler(ctx)
	m.WithTags(map[string]string{"status": store.StatusComplete}).Counter("genesys_ingest_conversations_stored").Inc(int64(r.StoredComplete))
	m.WithTags(map[string]string{"status": store.StatusIncomplete}).Counter("genesys_ingest_conversations_stored").Inc(int64(r.StoredIncomplete))
	m.Counter("genesys_ingest_conversations_unchanged").Inc(int64(r.Unchanged))
	m.Counter("genesys_ingest_conversations_not_ready").Inc(int64(len(r.NotReady)))
	m.Counter("genesys_ingest_conversations_failed").Inc(int64(len(r.Failed)))
}

// recordFreshness records, for each conversation this chunk stored
// complete, the time from the event that asked for it to now: how far the
// table lags behind Genesys (the Freshness metric). Refs without an event
// time are skipped.
func recordFreshness(ctx context.Context, refs []workflows.ConversationRef, recs []store.Record, outcomes []store.Outcome, storedAt time.Time) {
	eventTimes := make(map[string]int64, len(refs))
	for _, ref := range refs {
		if ref.EventTime > 0 {
			eventTimes[ref.ID] = ref.EventTime
		}
	}
	freshness := activity.GetMetricsHandler(ctx).Timer("genesys_ingest_freshness")
	for i, rec := range recs {
		eventTime, ok := eventTimes[rec.ConversationID]
		if !ok || outcomes[i] != store.Written || !rec.Complete() {
			continue
		}
		// An event stamped ahead of this worker's clock counts as fresh.
		freshness.Record(max(0, storedAt.Sub(time.UnixMilli(eventTime))))
	}
}
