package intake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/genesys-ingest/genesys-ingest/internal/fixtures"
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

// lambdaPayloadLimit is the largest invocation payload Lambda accepts, and
// so the largest SQS batch an event source mapping hands the forwarder.
const lambdaPayloadLimit = 6 << 20

// sqsBatchUpTo builds the largest sqsBatch that fits in limit bytes, and
// returns it with its number of records. Every record of sqsBatch has the
// same size, so the size grows linearly with the number of records.
func sqsBatchUpTo(b *testing.B, limit int) ([]byte, int) {
	b.Helper()
	one, two := len(sqsBatch(b, 1)), len(sqsBatch(b, 2))
	per := two - one
	n := (limit - (one - per)) / per
	payload := sqsBatch(b, n)
	if len(payload) > limit || len(payload)+per <= limit {
		b.Fatalf("%d records make %d bytes; want the most records within %d bytes", n, len(payload), limit)
	}
	return payload, n
}

// BenchmarkParseSQSBatch10000 parses a 10,000-record SQS batch, the most
// records an event source mapping puts in one batch, and derives its
// workflow id. At 15.6 MB it is larger than Lambda accepts: see
// BenchmarkParseSQSBatch6MB for the largest real delivery.
func BenchmarkParseSQSBatch10000(b *testing.B) {
	const n = 10_000
	benchmarkParse(b, Parse, sqsBatch(b, n), n)
}

// BenchmarkParseSQSBatch6MB parses the largest SQS batch Lambda can deliver,
// 6 MB of records (4,022 of these events), and derives its workflow id: the
// forwarder's CPU work per invocation at its worst.
func BenchmarkParseSQSBatch6MB(b *testing.B) {
	payload, n := sqsBatchUpTo(b, lambdaPayloadLimit)
	benchmarkParse(b, Parse, payload, n)
}

// BenchmarkParseSQSBatch6MBEncodingJSON is BenchmarkParseSQSBatch6MB with
// encoding/json alone (referenceParse), for comparison.
func BenchmarkParseSQSBatch6MBEncodingJSON(b *testing.B) {
	payload, n := sqsBatchUpTo(b, lambdaPayloadLimit)
	benchmarkParse(b, referenceParse, payload, n)
}

// benchmarkParse times parse and WorkflowID on payload, an SQS batch of n
// good records about different conversations.
func benchmarkParse(b *testing.B, parse func([]byte) (*Delivery, error), payload []byte, n int) {
	d, err := parse(payload)
	if err != nil {
		b.Fatal(err)
	}
	if len(d.Conversations) != n || len(d.Rejected) != 0 {
		b.Fatalf("parsed %d conversations, %d rejected; want %d, 0", len(d.Conversations), len(d.Rejected), n)
	}
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		d, err := parse(payload)
		if err != nil {
			b.Fatal(err)
		}
		if d.WorkflowID() == "" {
			b.Fatal("empty workflow id")
		}
	}
}
