// Package activities holds the workflow's I/O: fetching conversations from
// Genesys Cloud and storing them in DynamoDB. The Genesys client and the
// DynamoDB store live in the genesys and store subpackages.
package activities

import (
	"cmp"
	"context"
	"errors"
	"fmt"
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
}

// Store is the part of *store.Table the activities use.
type Store interface {
	UpsertAll(ctx context.Context, recs []store.Record) ([]store.Outcome, error)
	CompleteIDs(ctx context.Context, ids []string) (map[string]bool, error)
}

// requestTimeoutRetryDelay is how long Genesys says a 504 request.timeout
// takes to clear.
const requestTimeoutRetryDelay = 10 * time.Second

// Fetcher runs the fetch activity. The worker builds one and registers its
// method; tests build it with fakes.
type Fetcher struct {
	Genesys GenesysClient
	Store   Store
	// Now stamps fetchedAt; time.Now when nil.
	Now func() time.Time
}

// FetchAndStoreConversations fetches one chunk of conversations with a single
// Genesys request and stores every complete one (and, when asked, every
// incomplete one) right here, so that the large analytics records never pass
// through workflow history. It returns only counts and the ids that need the
// workflow's attention. Storing is idempotent, so a retry after a partial
// failure rewrites nothing that is already stored.
func (f *Fetcher) FetchAndStoreConversations(ctx context.Context, req workflows.FetchRequest) (workflows.FetchResult, error) {
	ids := make([]string, len(req.Conversations))
	for i, c := range req.Conversations {
		ids[i] = c.ID
	}
	// Every attempt makes one request; counting attempts counts the ones that
	// failed before this one too.
	result := workflows.FetchResult{Requests: int(activity.GetInfo(ctx).Attempt)}

	fetched, err := f.Genesys.FetchConversations(ctx, ids)
	if err != nil {
		return result, classify(err)
	}
	fetchedAt := f.now()

	var toStore []store.Record
	for _, ref := range req.Conversations {
		raw, ok := fetched.Conversations[ref.ID]
		if !ok {
			result.NotReady = append(result.NotReady, ref.ID)
			continue
		}
		rec, err := store.NewRecord(raw, cmp.Or(ref.OrgID, req.OrgID), fetchedAt)
		if err != nil {
			result.Failed = append(result.Failed, workflows.Failure{
				ConversationID: ref.ID,
				Reason:         fmt.Sprintf("%s: %v", workflows.ErrTypeInvalidRecord, err),
			})
			continue
		}
		if !rec.Complete() && !req.StoreIncomplete {
			result.NotReady = append(result.NotReady, ref.ID)
			continue
		}
		toStore = append(toStore, rec)
	}
	outcomes, err := f.Store.UpsertAll(ctx, toStore)
	if err != nil {
		// Retryable: the next attempt fetches again and the conditional
		// writes skip whatever this attempt already stored.
		return result, fmt.Errorf("store conversations: %w", err)
	}
	for i, rec := range toStore {
		switch {
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
	return result, nil
}

// FindStoredConversations names the conversations already stored complete.
// The workflow runs it as a local activity just before fetching, so that a
// conversation whose events came in several batches, each with its own
// workflow, costs one Genesys request instead of one per batch.
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

// classify turns a Genesys error into the Temporal error that makes the
// activity retry the right way: after Retry-After for a 429, with backoff for
// anything transient, and never for a permanent refusal.
func classify(err error) error {
	var apiErr *genesys.APIError
	var tokenErr *genesys.TokenError
	switch {
	case errors.Is(err, genesys.ErrResponseTooLarge):
		// Only fewer ids per request can help: the workflow splits the chunk.
		return temporal.NewApplicationErrorWithOptions(err.Error(), workflows.ErrTypeBadRequest,
			temporal.ApplicationErrorOptions{NonRetryable: true})
	case errors.Is(err, genesys.ErrMalformedResponse):
		return temporal.NewApplicationErrorWithOptions(err.Error(), workflows.ErrTypeMalformed,
			temporal.ApplicationErrorOptions{})
	case errors.As(err, &apiErr):
		switch {
		case apiErr.Status == 429:
			return temporal.NewApplicationErrorWithOptions(apiErr.Error(), workflows.ErrTypeRateLimited,
				temporal.ApplicationErrorOptions{NextRetryDelay: apiErr.RetryAfter})
		case apiErr.Retryable():
			delay := apiErr.RetryAfter
			if apiErr.Code == "request.timeout" && delay == 0 {
				delay = requestTimeoutRetryDelay
			}
			return temporal.NewApplicationErrorWithOptions(apiErr.Error(), workflows.ErrTypeUnavailable,
				temporal.ApplicationErrorOptions{NextRetryDelay: delay})
		case apiErr.Status == 400:
			return temporal.NewApplicationErrorWithOptions(apiErr.Error(), workflows.ErrTypeBadRequest,
				temporal.ApplicationErrorOptions{NonRetryable: true})
		default:
			return temporal.NewApplicationErrorWithOptions(apiErr.Error(), workflows.ErrTypeRejected,
				temporal.ApplicationErrorOptions{NonRetryable: true})
		}
	case errors.As(err, &tokenErr):
		if tokenErr.Retryable() {
			return temporal.NewApplicationErrorWithOptions(tokenErr.Error(), workflows.ErrTypeUnavailable,
				temporal.ApplicationErrorOptions{NextRetryDelay: tokenErr.RetryAfter})
		}
		return temporal.NewApplicationErrorWithOptions(tokenErr.Error(), workflows.ErrTypeRejected,
			temporal.ApplicationErrorOptions{NonRetryable: true})
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
