package store_test

import (
	"testing"
	"time"

	"github.com/genesys-ingest/genesys-ingest/activities/store"
	"github.com/genesys-ingest/genesys-ingest/internal/fixtures"
)

// BenchmarkNewRecord maps the complete analytics fixture to its item, the
// worker's CPU work per stored conversation besides the DynamoDB write.
func BenchmarkNewRecord(b *testing.B) {
	raw := fixtures.Read(b, "analytics/conversation-complete.json")
	fetchedAt := time.Date(2026, 11, 27, 11, 5, 0, 0, time.UTC)
	r, err := store.NewRecord(raw, "org-1", fetchedAt)
	if err != nil {
		b.Fatal(err)
	}
	if !r.Complete() {
		b.Fatalf("fixture maps to status %q, want %q", r.Status, store.StatusComplete)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := store.NewRecord(raw, "org-1", fetchedAt); err != nil {
			b.Fatal(err)
		}
	}
}
