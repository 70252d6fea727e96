package store

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Failure is why one conversation ended without a stored record, as the
// table keeps it, so that it outlives workflow history and can be retried
// from the table (`starter conversations retry`).
type Failure struct {
	ConversationID string
	OrgID          string
	// Reason is what the pipeline concluded, e.g. "not found in Genesys
	// analytics within READY_TIMEOUT (2h0m0s)".
	Reason string
	// LastError is the last error seen, when there was one.
	LastError string
	// Attempts counts the fetch attempts this failure took, when known.
	Attempts int
	// FirstEventAt and LastEventAt bound the events that asked for the
	// conversation; zero when unknown.
	FirstEventAt, LastEventAt time.Time
	// BatchID is the batch workflow that gave up on it, merged into the
	// item's batchIds; empty when unknown.
	BatchID string
}

// failedItem is a failed conversation's item. It shares the conversation
// item's key, status and updatedAt, and holds no detail.
type failedItem struct {
	ConversationID string `dynamodbav:"conversationId"`
	Status         string `dynamodbav:"status"`
	OrgID          string `dynamodbav:"orgId,omitempty"`
	FailureReason  string `dynamodbav:"failureReason"`
	LastError      string `dynamodbav:"lastError,omitempty"`
	Attempts       int    `dynamodbav:"attempts,omitempty"`
	// Failures counts how often the conversation was recorded failed.
	Failures     int    `dynamodbav:"failures"`
	FirstEventAt string `dynamodbav:"firstEventAt,omitempty"`
	LastEventAt  string `dynamodbav:"lastEventAt,omitempty"`
	FailedAt     string `dynamodbav:"failedAt"`
	UpdatedAt    string `dynamodbav:"updatedAt"`
	// BatchIDs as in Record.
	BatchIDs []string `dynamodbav:"batchIds,omitempty"`
}

// FailureOutcome says what RecordFailures did with one failure.
type FailureOutcome int

const (
	// FailureRecorded: the conversation's item now says failed.
	FailureRecorded FailureOutcome = iota + 1
	// FailureKept: the conversation has a stored record (complete or
	// incomplete), which a failure never replaces.
	FailureKept
)

// maxFailureText bounds reasons and errors kept in an item; they come from
// servers and must not make the item large.
const maxFailureText = 1000

// RecordFailures writes a failed item for each conversation that has no
// stored record, or merges into the failed item it has (event times widen,
// attempts and failures add up). A conversation stored complete or
// incomplete keeps its item. Each write is conditional on the item read,
// so a record stored meanwhile always wins.
func (t *Table) RecordFailures(ctx context.Context, failures []Failure) ([]FailureOutcome, error) {
	ids := make([]string, len(failures))
	for i, f := range failures {
		if f.ConversationID == "" || f.Reason == "" {
			return nil, fmt.Errorf("record failure %q: a failure needs a conversation id and a reason", f.ConversationID)
		}
		ids[i] = f.ConversationID
	}
	stored, err := t.batchGetItems(ctx, ids, "status", "fetchedAt", "updatedAt", "attempts", "failures", "firstEventAt", "lastEventAt", "orgId", "batchIds")
	if err != nil {
		return nil, fmt.Errorf("record %d failures: read stored items: %w", len(failures), err)
	}
	outcomes := make([]FailureOutcome, len(failures))
	for i, f := range failures {
		item := stored[f.ConversationID]
		for attempt := 1; ; attempt++ {
			if s := stringAttr(item, "status"); item != nil && s != StatusFailed {
				outcomes[i] = FailureKept
				break
			}
			written, err := t.putFailure(ctx, f, item)
			if err != nil {
				return nil, err
			}
			if written {
				outcomes[i] = FailureRecorded
				break
			}
			if attempt == writeAttempts {
				return nil, fmt.Errorf("record failure of %s: the stored item changed before each of %d writes", f.ConversationID, attempt)
			}
			if item, err = t.getItem(ctx, f.ConversationID); err != nil {
				return nil, fmt.Errorf("record failure after a concurrent write: %w", err)
			}
		}
	}
	return outcomes, nil
}

// putFailure writes f merged into the failed item stored (nil: none), while
// that is still the stored item; false when another write came first.
func (t *Table) putFailure(ctx context.Context, f Failure, stored map[string]types.AttributeValue) (bool, error) {
	now := t.now().UTC().Format(TimeFormat)
	item := failedItem{
		ConversationID: f.ConversationID,
		Status:         StatusFailed,
		OrgID:          cmp.Or(f.OrgID, stringAttr(stored, "orgId")),
		FailureReason:  clip(f.Reason),
		LastError:      clip(f.LastError),
		Attempts:       f.Attempts + intAttr(stored, "attempts"),
		Failures:       1 + intAttr(stored, "failures"),
		FirstEventAt:   earliest(eventTime(f.FirstEventAt), stringAttr(stored, "firstEventAt")),
		LastEventAt:    max(eventTime(f.LastEventAt), stringAttr(stored, "lastEventAt")),
		FailedAt:       now,
		UpdatedAt:      now,
		BatchIDs:       MergeBatchIDs(batchIDsAttr(stored), []string{f.BatchID}),
	}
	written, err := t.putIfUnchanged(ctx, item, versionOf(stored))
	if err != nil {
		return false, fmt.Errorf("record failure of %s: %w", f.ConversationID, err)
	}
	return written, nil
}

func eventTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(TimeFormat)
}

// earliest of two TimeFormat strings, either of which may be empty.
func earliest(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return min(a, b)
}

func clip(s string) string {
	if len(s) <= maxFailureText {
		return s
	}
	return s[:maxFailureText] + "…"
}
