package activities

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/genesys-ingest/genesys-ingest/activities/genesys"
	"github.com/genesys-ingest/genesys-ingest/activities/store"
	"github.com/genesys-ingest/genesys-ingest/workflows"
)

// DetailsQuerier is the part of *genesys.Client the backfill uses.
type DetailsQuerier interface {
	QueryConversationDetails(ctx context.Context, q genesys.DetailsQuery) (*genesys.QueryPage, error)
}

// StatusReader is the part of *store.Table the backfill uses.
type StatusReader interface {
	Statuses(ctx context.Context, ids []string) (map[string]store.StoredStatus, error)
}

// BackfillReports is the part of *store.Batches the backfill uses.
type BackfillReports interface {
	PutBackfill(ctx context.Context, r store.BackfillRecord) error
}

// Backfiller runs the Backfill workflow's activities.
type Backfiller struct {
	Genesys DetailsQuerier
	Table   StatusReader
	Reports BackfillReports
}

// QueryConversationDetails reads one page of the details query. It runs on
// the Genesys task queue, so its request counts against the same budget as
// the fetches, and its errors are classified as theirs: systemic ones are
// retried (and logged as ingestion blocked), a refused query is not.
func (b *Backfiller) QueryConversationDetails(ctx context.Context, req workflows.DetailsQueryRequest) (workflows.DetailsQueryPage, error) {
	defer keepHeartbeating(ctx)()
	page, err := b.Genesys.QueryConversationDetails(ctx, genesys.DetailsQuery{From: req.From, Days: req.Days,
		PageSize: req.PageSize, PageNumber: req.PageNumber, Desc: req.Desc})
	if err != nil {
		return workflows.DetailsQueryPage{}, blocked(ctx, classify(err))
	}
	out := workflows.DetailsQueryPage{TotalHits: page.TotalHits, Conversations: make([]workflows.QueriedConversation, len(page.Conversations))}
	for i, c := range page.Conversations {
		out.Conversations[i] = workflows.QueriedConversation{ID: c.ID, Start: c.Start.UnixMilli()}
	}
	return out, nil
}

// ClassifyStoredConversations tells which of the ids the table holds
// complete, incomplete or failed. The workflow runs it as a local activity
// for every page it reads.
func (b *Backfiller) ClassifyStoredConversations(ctx context.Context, req workflows.ClassifyRequest) (workflows.ClassifyResult, error) {
	statuses, err := b.Table.Statuses(ctx, req.IDs)
	if err != nil {
		return workflows.ClassifyResult{}, err
	}
	var res workflows.ClassifyResult
	for _, id := range req.IDs {
		s, ok := statuses[id]
		switch {
		case !ok:
		case s.Status == store.StatusComplete:
			res.Complete = append(res.Complete, id)
		case s.Status == store.StatusFailed:
			res.Failed = append(res.Failed, id)
		default:
			res.Incomplete = append(res.Incomplete, id)
		}
	}
	return res, nil
}

// RecordBackfill writes a finished backfill's report to the batches table.
func (b *Backfiller) RecordBackfill(ctx context.Context, req workflows.BackfillRecordRequest) error {
	report, err := json.Marshal(req.Report)
	if err != nil {
		return fmt.Errorf("backfill %s: %w", req.WorkflowID, err)
	}
	kind := store.KindReconcile
	if req.Report.Fix {
		kind = store.KindBackfill
	}
	return b.Reports.PutBackfill(ctx, store.BackfillRecord{BatchID: req.WorkflowID, Kind: kind,
		FinishedAt: req.Report.FinishedAt.UTC().Format(store.TimeFormat), Report: string(report)})
}
