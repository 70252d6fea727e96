package activities

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/genesys-ingest/genesys-ingest/activities/genesys"
	"github.com/genesys-ingest/genesys-ingest/workflows"
)

func TestBreakerLetsOneProbeThroughAfterAFailure(t *testing.T) {
	var b genesysBreaker
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	_, _, ok := b.allow(now)
	require.True(t, ok, "closed: every request goes")

	b.failed(now, 0, failure{message: "503 service.unavailable", errType: workflows.ErrTypeUnavailable})
	wait, last, ok := b.allow(now.Add(time.Second))
	assert.False(t, ok)
	assert.Equal(t, time.Second, wait, "the rest of the first 2 s")
	assert.Equal(t, failure{message: "503 service.unavailable", errType: workflows.ErrTypeUnavailable}, last)

	_, _, ok = b.allow(now.Add(2 * time.Second))
	assert.True(t, ok, "one probe")
	wait, _, ok = b.allow(now.Add(2 * time.Second))
	assert.False(t, ok, "only one")
	assert.Equal(t, breakerProbeWait, wait)

	b.failed(now.Add(3*time.Second), 0, failure{message: "503"})
	wait, _, _ = b.allow(now.Add(3 * time.Second))
	assert.Equal(t, 4*time.Second, wait, "the wait doubles")
	b.failed(now.Add(3*time.Second), 42*time.Second, failure{message: "429"})
	wait, _, _ = b.allow(now.Add(3 * time.Second))
	assert.Equal(t, 42*time.Second, wait, "Retry-After wins when longer")

	b.succeeded()
	_, _, ok = b.allow(now.Add(4 * time.Second))
	assert.True(t, ok)
	_, _, ok = b.allow(now.Add(4 * time.Second))
	assert.True(t, ok, "closed again")
}

func TestDuringAnOutageOneFetchProbesAndTheOthersMakeNoRequest(t *testing.T) {
	gc := &fakeGenesys{err: &genesys.APIError{Status: 403, Code: "missing.permissions"}}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	f := &Fetcher{Genesys: gc, Store: &fakeStore{}, Now: func() time.Time { return now }}
	for range 10 { // FETCH_CONCURRENCY chunks at once
		_, err := execute(t, f, workflows.FetchRequest{Conversations: refs(completeID)})
		require.Error(t, err)
	}
	assert.Len(t, gc.asked, 1, "one request found Genesys down; the others waited")
	var appErr *temporal.ApplicationError
	_, err := execute(t, f, workflows.FetchRequest{Conversations: refs(completeID)})
	require.ErrorAs(t, err, &appErr)
	assert.Equal(t, workflows.ErrTypeUnauthorized, appErr.Type(), "waiting fetches report the failure that opened the breaker")
	assert.Contains(t, err.Error(), "missing.permissions")

	now = now.Add(breakerInitialWait)
	gc.err = nil
	gc.conversations = map[string][]byte{}
	_, err = execute(t, f, workflows.FetchRequest{Conversations: refs(completeID)})
	require.NoError(t, err)
	assert.Len(t, gc.asked, 2, "one probe when the wait is over, and it found Genesys back")
	_, err = execute(t, f, workflows.FetchRequest{Conversations: refs(completeID)})
	require.NoError(t, err)
	assert.Len(t, gc.asked, 3)
}
