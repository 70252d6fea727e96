package intake_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/genesys-ingest/genesys-ingest/internal/fixtures"
	"github.com/genesys-ingest/genesys-ingest/starter/intake"
)

// fixtureConversationID is the conversation id of events/customer-end.json.
const fixtureConversationID = "5e8d1c3a-9f7b-4b2e-8c61-0d4f7a2b9e10"

// sqsBatch builds an SQS batch of n records, each the customer-end fixture
// envelope about a different conversation, shaped like an SQS event source
// mapping's delivery.
func sqsBatch(b *testing.B, n int) []byte {
	b.Helper()
	envelope := fixtures.Read(b, "events/customer-end.json")
	if !bytes.Contains(envelope, []byte(fixtureConversationID)) {
		b.Fatalf("events/customer-end.json no longer names conversation %s", fixtureConversationID)
	}
	type record struct {
		MessageID         string            `json:"messageId"`
		ReceiptHandle     string            `json:"receiptHandle"`
		Body              string            `json:"body"`
		Attributes        map[string]string `json:"attributes"`
		MessageAttributes map[string]any    `json:"messageAttributes"`
		MD5OfBody         string            `json:"md5OfBody"`
		EventSource       string            `json:"eventSource"`
		EventSourceARN    string            `json:"eventSourceARN"`
		AWSRegion         string            `json:"awsRegion"`
	}
	records := make([]record, n)
	for i := range records {
		id := fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", i*2654435761%(1<<32), i%0x10000, i%0x1000, (i*7)%0x1000, i)
		body := bytes.ReplaceAll(envelope, []byte(fixtureConversationID), []byte(id))
		records[i] = record{
			MessageID:         fmt.Sprintf("m-%06d", i),
			ReceiptHandle:     fmt.Sprintf("rh-m-%06d", i),
			Body:              string(body),
			Attributes:        map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": "1764241261000"},
			MessageAttributes: map[string]any{},
			EventSource:       "aws:sqs",
			EventSourceARN:    "arn:aws:sqs:us-east-1:111122223333:genesys-events",
			AWSRegion:         "us-east-1",
		}
	}
	payload, err := json.Marshal(map[string]any{"Records": records})
	if err != nil {
		b.Fatal(err)
	}
	return payload
}

// BenchmarkParseSQSBatch10000 parses the largest SQS batch an event source
// mapping delivers and derives its workflow id: the forwarder's CPU work per
// invocation.
func BenchmarkParseSQSBatch10000(b *testing.B) {
	const n = 10_000
	payload := sqsBatch(b, n)
	d, err := intake.Parse(payload)
	if err != nil {
		b.Fatal(err)
	}
	if len(d.Conversations) != n || len(d.Rejected) != 0 {
		b.Fatalf("parsed %d conversations, %d rejected; want %d, 0", len(d.Conversations), len(d.Rejected), n)
	}
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		d, err := intake.Parse(payload)
		if err != nil {
			b.Fatal(err)
		}
		if d.WorkflowID() == "" {
			b.Fatal("empty workflow id")
		}
	}
}
