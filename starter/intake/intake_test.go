package intake

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genesys-ingest/genesys-ingest/internal/fixtures"
	"github.com/genesys-ingest/genesys-ingest/workflows"
)

const (
	voiceConversation   = "5e8d1c3a-9f7b-4b2e-8c61-0d4f7a2b9e10"
	messageConversation = "a3b9e2f1-6c4d-4e8a-b7f0-1c2d3e4f5a60"
	org                 = "7c1f2a0e-5b0d-4d6e-9a55-3f3f2e9c1a01"
)

func ids(d *Delivery) []string {
	var out []string
	for _, c := range d.Conversations {
		out = append(out, c.ID)
	}
	return out
}

func TestParseSingleCustomerEndEvent(t *testing.T) {
	d, err := Parse(fixtures.Read(t, "events/customer-end.json"))
	require.NoError(t, err)
	assert.Equal(t, ShapeEvent, d.Shape)
	assert.Equal(t, []workflows.ConversationRef{{
		ID: voiceConversation, OrgID: org, Topic: "customer.end", EventTime: 1764241200123,
	}}, d.Conversations)
	assert.Empty(t, d.Rejected)
	assert.Zero(t, d.Ignored)
}

func TestParseSingleAcwEvent(t *testing.T) {
	d, err := Parse(fixtures.Read(t, "events/acw.json"))
	require.NoError(t, err)
	require.Len(t, d.Conversations, 1)
	assert.Equal(t, "acw", d.Conversations[0].Topic)
	assert.Equal(t, int64(1764241230789), d.Conversations[0].EventTime)
}

func TestParseQueueConversationsTakesIDFromEventBody(t *testing.T) {
	d, err := Parse(fixtures.Read(t, "events/queue-conversations.json"))
	require.NoError(t, err)
	// The topic's {id} is the queue; the conversation is eventBody.id.
	assert.Equal(t, []string{messageConversation}, ids(d))
	assert.Equal(t, "queue.conversations", d.Conversations[0].Topic)
}

func TestParsePipesArrayDeduplicatesConversations(t *testing.T) {
	d, err := Parse(fixtures.Read(t, "events/pipes-array.json"))
	require.NoError(t, err)
	assert.Equal(t, ShapeArray, d.Shape)
	assert.Equal(t, 3, d.Events)
	assert.Equal(t, []string{voiceConversation, messageConversation}, ids(d))
	// The first event of a conversation wins.
	assert.Equal(t, "customer.end", d.Conversations[0].Topic)
}

func TestParseSQSBatchRejectsPoisonRecordsAndKeepsTheRest(t *testing.T) {
	d, err := Parse(fixtures.Read(t, "events/sqs-batch.json"))
	require.NoError(t, err)
	assert.Equal(t, ShapeSQS, d.Shape)
	assert.Equal(t, []string{voiceConversation, messageConversation}, ids(d))
	assert.Equal(t, []string{"m-0001", "m-0002", "m-0003"}, d.Accepted)
	require.Len(t, d.Rejected, 2)
	assert.Equal(t, "m-0004", d.Rejected[0].MessageID)
	assert.Contains(t, d.Rejected[0].Reason, "not an EventBridge event")
	assert.Equal(t, "m-0005", d.Rejected[1].MessageID)
	assert.Contains(t, d.Rejected[1].Reason, "is not a UUID")
	assert.Contains(t, d.Rejected[1].Reason, "DROP TABLE")
}

func TestParseIgnoresAndCountsOtherTopics(t *testing.T) {
	payload := `[{"detail-type":"v2.users.{id}.presence","detail":{"topicName":"v2.users.3e4f5a6b-7c8d-4e9f-8a1b-2c3d4e5f6a7b.presence","eventBody":{}}},
	{"detail-type":"v2.users.{id}.conversations","detail":{"eventBody":{"id":"` + voiceConversation + `"}}}]`
	d, err := Parse([]byte(payload))
	require.NoError(t, err)
	assert.Equal(t, 1, d.Ignored)
	assert.Equal(t, []string{voiceConversation}, ids(d))
}

func TestParseRejectsEventWithoutConversationID(t *testing.T) {
	d, err := Parse([]byte(`{"id":"e1","detail-type":"v2.detail.events.conversation.{id}.customer.end","detail":{"eventBody":{}}}`))
	require.NoError(t, err)
	require.Len(t, d.Rejected, 1)
	assert.Equal(t, "e1", d.Rejected[0].EventID)
	assert.Contains(t, d.Rejected[0].Reason, "eventBody.conversationId")
	assert.Empty(t, d.Conversations)
}

func TestParseDerivesTemplateFromTopicNameWhenDetailTypeIsConcrete(t *testing.T) {
	d, err := Parse([]byte(`{"detail":{"topicName":"v2.detail.events.conversation.` + voiceConversation + `.acw","eventBody":{"conversationId":"` + strings.ToUpper(voiceConversation) + `"}}}`))
	require.NoError(t, err)
	require.Len(t, d.Conversations, 1)
	assert.Equal(t, voiceConversation, d.Conversations[0].ID, "ids are normalised to lower case")
	assert.Equal(t, "acw", d.Conversations[0].Topic)
}

func TestParseRejectsNonJSONPayload(t *testing.T) {
	_, err := Parse([]byte("{not json"))
	assert.ErrorIs(t, err, ErrNotJSON)
}

func TestParseRejectsUnknownShape(t *testing.T) {
	for _, payload := range []string{`{"hello":"world"}`, `42`, `"text"`} {
		_, err := Parse([]byte(payload))
		assert.True(t, errors.Is(err, ErrUnknownShape), "payload %s: %v", payload, err)
	}
}

func TestWorkflowIDIsStableAcrossRedeliveryAndShape(t *testing.T) {
	batch, err := Parse(fixtures.Read(t, "events/sqs-batch.json"))
	require.NoError(t, err)
	again, err := Parse(fixtures.Read(t, "events/sqs-batch.json"))
	require.NoError(t, err)
	assert.Equal(t, batch.WorkflowID(), again.WorkflowID())
	assert.True(t, strings.HasPrefix(batch.WorkflowID(), "genesys-ingest-"))

	// The same three events as an array, with different EventBridge ids and
	// another order, are the same business content.
	var events []map[string]any
	require.NoError(t, json.Unmarshal(fixtures.Read(t, "events/pipes-array.json"), &events))
	events[0]["id"], events[2]["id"] = "resent-1", "resent-3"
	events[0], events[2] = events[2], events[0]
	reordered, err := json.Marshal(events)
	require.NoError(t, err)
	array, err := Parse(reordered)
	require.NoError(t, err)
	assert.Equal(t, batch.WorkflowID(), array.WorkflowID())
}

func TestWorkflowIDDiffersForALaterEventOfTheSameConversation(t *testing.T) {
	end, err := Parse(fixtures.Read(t, "events/customer-end.json"))
	require.NoError(t, err)
	acw, err := Parse(fixtures.Read(t, "events/acw.json"))
	require.NoError(t, err)
	assert.NotEqual(t, end.WorkflowID(), acw.WorkflowID())
}
