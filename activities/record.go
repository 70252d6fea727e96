package activities

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/genesys-ingest/genesys-ingest/activities/store"
	"github.com/genesys-ingest/genesys-ingest/workflows"
)

// FailureStore is the part of *store.Table that records failures.
type FailureStore interface {
	RecordFailures(ctx context.Context, failures []store.Failure) ([]store.FailureOutcome, error)
}

// BatchStore is the part of *store.Batches that keeps batch records.
type BatchStore interface {
	Put(ctx context.Context, r store.BatchRecord) error
}

// Recorder writes the outcomes that must outlive workflow history: failed
// conversations and each batch's audit record.
type Recorder struct {
	Conversations FailureStore
	Batches       BatchStore
}

// RecordFailedConversations writes a failed item for every conversation a
// batch gave up on, unless a record of it is stored (a complete or
// incomplete record always wins), so that `starter conversations list
// --status failed` and `retry` find them after the history is gone.
func (r *Recorder) RecordFailedConversations(ctx context.Context, req workflows.RecordFailuresRequest) error {
	failures := make([]store.Failure, len(req.Failures))
	for i, f := range req.Failures {
		failures[i] = store.Failure{
			BatchID:        batchOf(ctx),
			ConversationID: f.ConversationID,
			OrgID:          f.OrgID,
			Reason:         f.Reason,
			Attempts:       f.Attempts,
			FirstEventAt:   epochMillis(f.FirstEventAt),
			LastEventAt:    epochMillis(f.LastEventAt),
		}
	}
	outcomes, err := r.Conversations.RecordFailures(ctx, failures)
	if err != nil {
		return err
	}
	recorded := 0
	for _, o := range outcomes {
		if o == store.FailureRecorded {
			recorded++
		}
	}
	activity.GetMetricsHandler(ctx).Counter("genesys_ingest_conversations_recorded_failed").Inc(int64(recorded))
	// The deployment's failed-conversations alarm counts this log line.
	activity.GetLogger(ctx).Warn("conversations recorded failed", "recorded", recorded, "keptStored", len(outcomes)-recorded)
	return nil
}

// RecordBatch writes a finished batch's audit record.
func (r *Recorder) RecordBatch(ctx context.Context, req workflows.BatchRecordRequest) error {
	s := req.Summary
	rec := store.BatchRecord{
		BatchID:          req.BatchID,
		Delivery:         req.Delivery,
		StartedAt:        timestamp(req.Timeline.StartedAt),
		FinishedAt:       timestamp(req.FinishedAt),
		FirstEventAt:     timestamp(epochMillis(req.Timeline.FirstEventAt)),
		LastStoredAt:     timestamp(req.Timeline.LastStoredAt),
		Received:         s.Received,
		StoredComplete:   s.StoredComplete,
		StoredIncomplete: s.StoredIncomplete,
		Unchanged:        s.Unchanged,
		Failed:           s.Failed,
		Submissions:      s.Submissions,
		Runs:             s.Runs,
	}
	for _, f := range s.Failures {
		rec.Failures = append(rec.Failures, store.BatchFailure{ConversationID: f.ConversationID, Reason: f.Reason})
	}
	if err := r.Batches.Put(ctx, rec); err != nil {
		return fmt.Errorf("record batch %s: %w", req.BatchID, err)
	}
	return nil
}

func epochMillis(ms int64) time.Time {
	if ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// timestamp formats t as the table does; "" for the zero time.
func timestamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(store.TimeFormat)
}
