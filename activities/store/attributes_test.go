package store

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genesys-ingest/genesys-ingest/simulator"
)

func TestParticipantAttributesOfQueriedRecordsMatchTheGroundTruth(t *testing.T) {
	g := simulator.NewGenerator(7, simulator.DefaultBaseTime)
	with := 0
	for i := range 2000 {
		c := g.Generate(i)
		raw, err := json.Marshal(c.Queried())
		require.NoError(t, err)
		r, err := NewRecord(raw, "org-1", fetchedAt)
		require.NoError(t, err)
		if !assert.Equal(t, c.Expected.ParticipantAttributes, r.ParticipantAttributes, "conversation %d", i) {
			return
		}
		if r.ParticipantAttributes != nil {
			with++
		}
		// The GET endpoints' record has none.
		raw, err = json.Marshal(c.Record)
		require.NoError(t, err)
		r, err = NewRecord(raw, "org-1", fetchedAt)
		require.NoError(t, err)
		assert.Nil(t, r.ParticipantAttributes)
	}
	assert.Greater(t, with, 1000, "inbound conversations have attributes")
}

func TestParticipantAttributesAreMergedWithTheCustomersWinning(t *testing.T) {
	r := newTestRecord(t, conversationJSON(`[
		{"purpose":"agent","userId":"u-1","attributes":{"intent":"agent's","outcome":"first","flag":true},"sessions":[]},
		{"purpose":"customer","attributes":{"intent":"billing","":"no name"},"sessions":[]},
		{"purpose":"agent","userId":"u-2","attributes":{"outcome":"second","count":3},"sessions":[]}]`))

	assert.Equal(t, map[string]string{"intent": "billing", "outcome": "second", "flag": "true", "count": "3"}, r.ParticipantAttributes,
		"the customer's value wins, a later participant's replaces an earlier one's, other JSON is kept as text, an empty name is dropped")

	item, err := attributevalue.MarshalMap(r)
	require.NoError(t, err)
	assert.Contains(t, item, "participantAttributes")
	assert.NotContains(t, item, "participantAttributesOmitted")
	assert.Nil(t, newTestRecord(t, conversationJSON(`[{"purpose":"customer","attributes":{},"sessions":[]}]`)).ParticipantAttributes)
}

func TestOversizedQueriedRecordKeepsItsAttributesWithItsDetailMovedOut(t *testing.T) {
	g := simulator.NewGenerator(7, simulator.DefaultBaseTime).WithOversizeRate(1)
	c := g.Generate(0)
	for i := 1; c.Expected.ParticipantAttributes == nil; i++ {
		c = g.Generate(i)
	}
	raw, err := json.Marshal(c.Queried())
	require.NoError(t, err)
	r, err := NewRecord(raw, "org-1", fetchedAt)
	require.NoError(t, err)
	assert.NotEmpty(t, r.DetailKey)
	assert.Equal(t, c.Expected.ParticipantAttributes, r.ParticipantAttributes)
	assert.False(t, r.ParticipantAttributesOmitted)
}

func TestAttributesTooLargeForAnItemAreLeftToTheDetail(t *testing.T) {
	// Random values compress poorly: the detail is too large for the item,
	// and the attributes are too even without it.
	random := make([]byte, 300_000)
	_, _ = rand.Read(random)
	value := hex.EncodeToString(random)
	r := newTestRecord(t, conversationJSON(`[{"purpose":"customer","attributes":{"a":"`+value+`"},"sessions":[]}]`))

	assert.NotEmpty(t, r.DetailKey, "the detail moved out")
	assert.Nil(t, r.ParticipantAttributes)
	assert.True(t, r.ParticipantAttributesOmitted)
	item, err := attributevalue.MarshalMap(r)
	require.NoError(t, err)
	assert.LessOrEqual(t, itemSize(item), maxItemBytes)
	detail, err := DecodeDetail(r.largeDetail)
	require.NoError(t, err)
	assert.True(t, strings.Contains(string(detail), value), "the detail keeps them")
}
