package store

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genesys-ingest/genesys-ingest/simulator"
)

// simulatedRecord maps conversation i of the simulator's seed 7 as the
// fetch activity would.
func simulatedRecord(t testing.TB, g *simulator.Generator, i int) (Record, simulator.Expected) {
	t.Helper()
	c := g.Generate(i)
	raw, err := json.Marshal(c.Record)
	require.NoError(t, err)
	r, err := NewRecord(raw, "org-1", fetchedAt)
	require.NoError(t, err)
	return r, c.Expected
}

// TestRecordsOfSimulatedConversationsMatchTheGroundTruth compares every
// figure the item holds with what the simulator tallied while generating
// the conversation: holds, transfers, abandons, outbound calls and
// multi-agent conversations included.
func TestRecordsOfSimulatedConversationsMatchTheGroundTruth(t *testing.T) {
	g := simulator.NewGenerator(7, simulator.DefaultBaseTime)
	for i := range 2000 {
		r, want := simulatedRecord(t, g, i)

		agents := make([]Agent, len(want.Agents))
		for k, a := range want.Agents {
			agents[k] = Agent{UserID: a.UserID, QueueID: a.QueueID, WrapUpCode: a.WrapUpCode, Answered: a.Answered,
				HandleTimeMs: a.HandleTimeMs, TalkTimeMs: a.TalkTimeMs, HoldTimeMs: a.HoldTimeMs, AcwTimeMs: a.AcwTimeMs}
		}
		if len(agents) == 0 {
			agents = nil
		}
		duration := want.DurationMs
		expected := Record{
			ConversationID:       want.ConversationID,
			Status:               StatusComplete,
			ConversationStart:    want.ConversationStart,
			ConversationEnd:      want.ConversationEnd,
			DurationMs:           &duration,
			OriginatingDirection: want.OriginatingDirection,
			MediaType:            want.MediaType,
			DivisionIDs:          sortedSet(want.DivisionIDs),
			QueueIDs:             sortedSet(want.QueueIDs),
			UserIDs:              sortedSet(want.UserIDs),
			WrapUpCodes:          sortedSet(want.WrapUpCodes),
			ParticipantCount:     want.ParticipantCount,
			HandleTimeMs:         want.HandleTimeMs,
			TalkTimeMs:           want.TalkTimeMs,
			HoldTimeMs:           want.HoldTimeMs,
			AcwTimeMs:            want.AcwTimeMs,
			WaitTimeMs:           want.WaitTimeMs,
			AnswerTimeMs:         want.AnswerTimeMs,
			IvrTimeMs:            want.IvrTimeMs,
			Abandoned:            want.Abandoned,
			Transfers:            want.Transfers,
			DisconnectType:       want.DisconnectType,
			Agents:               agents,
			OrgID:                "org-1",
			OrgDay:               "org-1#" + want.ConversationStart[:len("2026-11-27")],
			Detail:               r.Detail,
			FetchedAt:            r.FetchedAt,
		}
		if !assert.Equal(t, expected, r, "conversation %d", i) {
			return
		}
	}
}

func TestSimulatedLateWrapUpIsCompleteAndNamesTheAgentsStillWithoutWrapUp(t *testing.T) {
	g := simulator.NewGenerator(7, simulator.DefaultBaseTime)
	for i := range 200 {
		c := g.Generate(i)
		raw, err := json.Marshal(c.LateWrapUp())
		require.NoError(t, err)
		r, err := NewRecord(raw, "org-1", fetchedAt)
		require.NoError(t, err)
		var connected []string
		for _, a := range c.Expected.Agents {
			connected = append(connected, a.UserID)
		}
		assert.True(t, r.Complete(), "conversation %d", i)
		assert.Equal(t, sortedSet(connected), r.MissingWrapUps, "conversation %d", i)
		assert.Nil(t, r.WrapUpCodes, "conversation %d", i)
	}
}

func TestSimulatedOversizedConversationKeepsItsDetailInTheBucket(t *testing.T) {
	ctx := context.Background()
	c := simulator.NewGenerator(7, simulator.DefaultBaseTime).WithOversizeRate(1).Generate(0)
	raw, err := json.Marshal(c.Record)
	require.NoError(t, err)
	r, err := NewRecord(raw, "org-1", fetchedAt)
	require.NoError(t, err)
	require.NotEmpty(t, r.DetailKey, "too large for the item")
	assert.Equal(t, c.Expected.ParticipantCount, r.ParticipantCount)
	assert.Equal(t, c.Expected.HandleTimeMs, r.HandleTimeMs)

	api := &fakeAPI{}
	table := tableWithBucket(api, fakeS3(t))
	outcomes, err := table.UpsertAll(ctx, []Record{r})
	require.NoError(t, err)
	assert.Equal(t, []Outcome{Written}, outcomes)
	var stored Record
	require.NoError(t, attributevalue.UnmarshalMap(api.puts[0].Item, &stored))
	assert.Less(t, itemSize(api.puts[0].Item), maxItemBytes)
	detail, err := table.Detail(ctx, stored)
	require.NoError(t, err)
	assert.Equal(t, raw, []byte(detail))
}

func sortedSet(ids []string) []string {
	if len(ids) == 0 {
		return nil
	}
	return slices.Compact(slices.Sorted(slices.Values(ids)))
}

// TestItemSizeDistributionOfSimulatedConversations maps 10,000 simulated
// conversations and logs the distribution of their item sizes (go test
// -run ItemSizeDistribution -v ./activities/store), the figure that says
// how far ordinary conversations are from DynamoDB's 400 KB: as the
// multi-get returns them, and as the details query does with their
// participant attributes, stored with hashed contact addresses, the
// largest item the settings make.
func TestItemSizeDistributionOfSimulatedConversations(t *testing.T) {
	const n = 10_000
	hashed, err := HashedContacts([]byte(testHashKey))
	require.NoError(t, err)
	for _, variant := range []struct {
		name    string
		record  func(simulator.Conversation) simulator.AnalyticsConversation
		mapping Mapping
	}{
		{"multiget", func(c simulator.Conversation) simulator.AnalyticsConversation { return c.Record }, Mapping{}},
		{"query+hashed", simulator.Conversation.Queried, Mapping{Contacts: hashed}},
	} {
		g := simulator.NewGenerator(7, simulator.DefaultBaseTime)
		sizes := make([]int, n)
		details := make([]int, n)
		for i := range n {
			raw, err := json.Marshal(variant.record(g.Generate(i)))
			require.NoError(t, err)
			r, err := variant.mapping.NewRecord(raw, "org-1", fetchedAt)
			require.NoError(t, err)
			r.UpdatedAt = r.FetchedAt // as UpsertAll adds it
			item, err := attributevalue.MarshalMap(r)
			require.NoError(t, err)
			sizes[i], details[i] = itemSize(item), len(r.Detail)
		}
		slices.Sort(sizes)
		slices.Sort(details)
		at := func(s []int, q float64) int { return s[int(q*float64(len(s)-1))] }
		t.Logf("%s: item bytes over %d simulated conversations: p50 %d, p90 %d, p99 %d, max %d", variant.name, n,
			at(sizes, .5), at(sizes, .9), at(sizes, .99), sizes[n-1])
		t.Logf("%s: of which gzipped detail: p50 %d, p90 %d, p99 %d, max %d", variant.name,
			at(details, .5), at(details, .9), at(details, .99), details[n-1])
		assert.Less(t, sizes[n-1], maxItemBytes, "an ordinary conversation fits in an item with its detail")
	}
}
