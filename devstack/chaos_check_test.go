package devstack

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genesys-ingest/genesys-ingest/activities/store"
	"github.com/genesys-ingest/genesys-ingest/simulator"
)

// detailsFrom serves the detail of every record from one JSON, as a table
// whose detail is in the bucket does.
type detailsFrom json.RawMessage

func (d detailsFrom) Detail(context.Context, store.Record) (json.RawMessage, error) {
	return json.RawMessage(d), nil
}

// simulatedItem maps conversation i of seed 7 as the fetch activity does,
// from the record as the multi-get or the details query serves it.
func simulatedItem(t *testing.T, i int, queried bool, m store.Mapping) (store.Record, simulator.GroundTruth, json.RawMessage) {
	t.Helper()
	c := simulator.Generate(7, i)
	rec := c.Record
	if queried {
		rec = c.Queried()
	}
	raw, err := json.Marshal(rec)
	require.NoError(t, err)
	r, err := m.NewRecord(raw, "org", time.Now())
	require.NoError(t, err)
	return r, simulator.GroundTruth{Expected: c.Expected, Complete: c.Record}, raw
}

// inboundVoice is the index of a seed-7 conversation with contact
// addresses and participant attributes.
func inboundVoice(t *testing.T) int {
	t.Helper()
	for i := 0; ; i++ {
		e := simulator.Generate(7, i).Expected
		if e.CustomerAni != "" && e.ParticipantAttributes != nil && len(e.Agents) > 0 {
			return i
		}
	}
}

func hasPrefix(lines []string, prefix string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

func TestRecordMismatchesJudgesTheNewFields(t *testing.T) {
	ctx, table := context.Background(), store.NewTable(nil, store.Config{})
	i := inboundVoice(t)
	rec, truth, _ := simulatedItem(t, i, false, store.Mapping{})
	require.Empty(t, RecordMismatches(ctx, table, rec, truth, "org"))

	for field, spoil := range map[string]func(*store.Record){
		"holdTimeMs":     func(r *store.Record) { r.HoldTimeMs++ },
		"waitTimeMs":     func(r *store.Record) { r.WaitTimeMs++ },
		"answerTimeMs":   func(r *store.Record) { r.AnswerTimeMs++ },
		"ivrTimeMs":      func(r *store.Record) { r.IvrTimeMs++ },
		"abandoned":      func(r *store.Record) { r.Abandoned = !r.Abandoned },
		"transfers":      func(r *store.Record) { r.Transfers++ },
		"disconnectType": func(r *store.Record) { r.DisconnectType = "system" },
		"agents":         func(r *store.Record) { r.Agents[0].AcwTimeMs++ },
		"missingWrapUps": func(r *store.Record) { r.MissingWrapUps = []string{r.Agents[0].UserID} },
		"orgDay":         func(r *store.Record) { r.OrgDay = "org#1999-01-01" },
		"firstEventAt":   func(r *store.Record) { r.FirstEventAt = "2026-11-27T09:00:00.000Z" },
		"lastEventTopic": func(r *store.Record) { r.LastEventTopic = "user.start" },
		"customerAni":    func(r *store.Record) { r.CustomerAni = "tel:+15550000000" },
		"customerDnisHmac": func(r *store.Record) {
			r.CustomerDnisHmac = "not a hash"
		},
		"contact addresses": func(r *store.Record) {
			r.CustomerAni, r.CustomerAniHmac = truth.Expected.CustomerAni, strings.Repeat("a", 64)
		},
		"participantAttributes": func(r *store.Record) { r.ParticipantAttributes = map[string]string{"intent": "x"} },
	} {
		spoilt := rec
		spoilt.Agents = append([]store.Agent(nil), rec.Agents...)
		spoil(&spoilt)
		assert.True(t, hasPrefix(RecordMismatches(ctx, table, spoilt, truth, "org"), field+":"), field)
	}

	// Any of the conversation's events may be the one a write names, and a
	// retry names none.
	for _, e := range truth.Expected.Events {
		named := rec
		named.FirstEventAt, named.LastEventTopic = e.EventTime, e.Topic
		assert.Empty(t, RecordMismatches(ctx, table, named, truth, "org"))
	}
	rec.LastEventTopic = retryTopic
	assert.Empty(t, RecordMismatches(ctx, table, rec, truth, "org"))
}

func TestRecordMismatchesAcceptsEitherContactMode(t *testing.T) {
	ctx, table := context.Background(), store.NewTable(nil, store.Config{})
	hashed, err := store.HashedContacts([]byte("a-key-of-at-least-thirty-two-bytes!"))
	require.NoError(t, err)
	for _, contacts := range []store.Contacts{store.PlainContacts(), hashed} {
		rec, truth, _ := simulatedItem(t, inboundVoice(t), false, store.Mapping{Contacts: contacts})
		assert.Empty(t, RecordMismatches(ctx, table, rec, truth, "org"), contacts.Mode())
	}
}

func TestRecordMismatchesJudgesAQueriedRecordByItsAttributes(t *testing.T) {
	ctx, table := context.Background(), store.NewTable(nil, store.Config{})
	rec, truth, _ := simulatedItem(t, inboundVoice(t), true, store.Mapping{})
	require.NotNil(t, rec.ParticipantAttributes)
	assert.Empty(t, RecordMismatches(ctx, table, rec, truth, "org"), "the detail's attributes are the query's")

	rec.ParticipantAttributes = nil
	assert.True(t, hasPrefix(RecordMismatches(ctx, table, rec, truth, "org"), "participantAttributes:"),
		"a queried record must keep them")
}

func TestRecordMismatchesReadsTheDetailWhereverItIs(t *testing.T) {
	ctx := context.Background()
	rec, truth, raw := simulatedItem(t, 3, false, store.Mapping{})
	rec.Detail, rec.DetailBucket, rec.DetailKey = nil, "details", "org/2026-11-27/c/ab.json.gz"
	assert.Empty(t, RecordMismatches(ctx, detailsFrom(raw), rec, truth, "org"))

	other, _, _ := simulatedItem(t, 4, false, store.Mapping{})
	assert.Contains(t, RecordMismatches(ctx, detailsFrom(mustDetail(t, other)), rec, truth, "org"),
		"detail: differs from the generated record")

	rec.DetailBucket, rec.DetailKey, rec.DetailOmitted = "", "", true
	assert.Contains(t, RecordMismatches(ctx, store.NewTable(nil, store.Config{}), rec, truth, "org"),
		"detail: omitted, though the record fits an item")
}

func mustDetail(t *testing.T, r store.Record) json.RawMessage {
	t.Helper()
	d, err := store.DecodeDetail(r.Detail)
	require.NoError(t, err)
	return d
}
