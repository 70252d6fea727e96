package intake

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/genesys-ingest/genesys-ingest/internal/fixtures"
)

// How FuzzParseDelivery delivers its payload (wrap modulo wrapModes).
const (
	wrapNone     = iota // the payload is the whole delivery, of any shape
	wrapArray           // the payload is one event in a JSON array
	wrapSQS             // the payload is the body of an SQS batch's one record
	wrapSQSMixed        // the payload is the body of records 0 and 2, a good event record 1
	wrapModes
)

// FuzzParseDelivery checks Parse on deliveries of all three shapes: it never
// panics; the whole payload is refused (ErrNotJSON, ErrUnknownShape) or every
// record is accounted for as exactly one of accepted, rejected or ignored;
// every rejection names its record and gives a specific reason; every
// accepted conversation id is a canonical (lower-case) UUID and appears once;
// a poison record never costs a good one its place. The result must also be
// the one encoding/json gives for the same delivery (referenceParse), since
// Parse is meant to read JSON exactly as encoding/json does.
//
// The corpus starts from testdata/events/*.json, each as it is and in the
// shapes derived from it (a single event wrapped in an array and into SQS
// records; the events of an array or an SQS batch on their own).
func FuzzParseDelivery(f *testing.F) {
	paths, err := filepath.Glob(filepath.Join(fixtures.Dir(f), "events", "*.json"))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no event fixtures (%v)", err)
	}
	for _, path := range paths {
		raw, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(wrapNone), raw)
		for _, event := range fixtureEvents(f, raw) {
			for wrap := range wrapModes {
				f.Add(uint8(wrap), event)
			}
			f.Add(uint8(wrapNone), arrayOf(event))
			f.Add(uint8(wrapNone), sqs(string(event)))
		}
	}
	f.Add(uint8(wrapSQSMixed), []byte(`{"detail-type":"v2.detail.events.conversation.{id}.customer.end","detail":{"eventBody":{"conversationId":"not-a-uuid"}}}`))
	f.Add(uint8(wrapNone), []byte(`{"Records":[null,{"body":null},{"body":"null"},{"body":"[]"}]}`))
	good := fixtures.Read(f, "events/customer-end.json")

	f.Fuzz(func(t *testing.T, wrap uint8, payload []byte) {
		var delivery []byte
		records := -1 // known only for the wrapped modes
		switch wrap % wrapModes {
		case wrapNone:
			delivery = payload
		case wrapArray:
			delivery = arrayOf(payload)
			if json.Valid(payload) {
				records = 1 // not for a payload such as 1,2
			}
		case wrapSQS:
			delivery, records = sqs(string(payload)), 1
		case wrapSQSMixed:
			delivery, records = sqs(string(payload), string(good), string(payload)), 3
		}
		d, err := Parse(delivery)
		checkAgainstReference(t, delivery, d, err)
		if err != nil {
			if !errors.Is(err, ErrNotJSON) && !errors.Is(err, ErrUnknownShape) {
				t.Fatalf("Parse error %v is neither ErrNotJSON nor ErrUnknownShape", err)
			}
			// A payload is wrapped as JSON text in an SQS body, so whatever
			// it is cannot spoil its delivery.
			if records >= 0 {
				t.Fatalf("wrap %d: Parse refused the whole delivery: %v", wrap%wrapModes, err)
			}
			return
		}
		n := countRecords(t, d.Shape, delivery)
		if records >= 0 && n != records {
			t.Fatalf("wrap %d: encoding/json reads %d records, want %d", wrap%wrapModes, n, records)
		}
		checkDelivery(t, d, n)
		if wrap%wrapModes == wrapSQSMixed {
			if !hasConversation(d, voiceConversation) || !slices.Contains(d.Accepted, "m-1") {
				t.Fatalf("the good record 1 was lost beside %q: %+v", payload, d)
			}
		}
		again, err := Parse(delivery)
		if err != nil || again.WorkflowID() != d.WorkflowID() {
			t.Fatalf("a second Parse gives workflow id %s (%v), the first %s", again.WorkflowID(), err, d.WorkflowID())
		}
	})
}

// fixtureEvents returns the events a fixture delivery holds: the event
// itself, the elements of an array, or the bodies of an SQS batch.
func fixtureEvents(f *testing.F, raw []byte) [][]byte {
	var batch struct {
		Records []sqsRecord `json:"Records"`
	}
	switch trimmed := bytes.TrimSpace(raw); {
	case bytes.HasPrefix(trimmed, []byte("[")):
		var events []json.RawMessage
		if err := json.Unmarshal(trimmed, &events); err != nil {
			f.Fatal(err)
		}
		out := make([][]byte, len(events))
		for i, e := range events {
			out[i] = e
		}
		return out
	case json.Unmarshal(trimmed, &batch) == nil && batch.Records != nil:
		out := make([][]byte, len(batch.Records))
		for i, r := range batch.Records {
			out[i] = []byte(r.Body)
		}
		return out
	}
	return [][]byte{raw}
}

func arrayOf(event []byte) []byte {
	return append(append([]byte("["), event...), ']')
}

// referenceParse is Parse with encoding/json in place of goccy/go-json:
// json.Unmarshal for the delivery and each event, json.Valid for other JSON
// values. BenchmarkParseSQSBatch6MBEncodingJSON times it.
func referenceParse(payload []byte) (*Delivery, error) {
	trimmed := bytes.TrimSpace(payload)
	decode := func(v any) error {
		err := json.Unmarshal(trimmed, v)
		if _, ok := errors.AsType[*json.SyntaxError](err); ok {
			return ErrNotJSON
		}
		if err != nil {
			return fmt.Errorf("%w: %v", ErrUnknownShape, err)
		}
		return nil
	}
	addEvent := func(d *Delivery, index int, messageID string, raw []byte) {
		var env envelope
		err := json.Unmarshal(raw, &env)
		d.add(index, messageID, env, err)
	}
	switch {
	case bytes.HasPrefix(trimmed, []byte("[")):
		var events []json.RawMessage
		if err := decode(&events); err != nil {
			return nil, err
		}
		d := &Delivery{Shape: ShapeArray}
		for i, raw := range events {
			addEvent(d, i, "", raw)
		}
		return d, nil
	case bytes.HasPrefix(trimmed, []byte("{")):
		var w wrapper
		if err := decode(&w); err != nil {
			return nil, err
		}
		d := &Delivery{}
		switch {
		case w.Records != nil:
			d.Shape = ShapeSQS
			for i, rec := range *w.Records {
				addEvent(d, i, rec.MessageID, []byte(rec.Body))
			}
		case w.DetailType != nil || w.Detail != nil:
			d.Shape = ShapeEvent
			addEvent(d, 0, "", trimmed)
		default:
			return nil, ErrUnknownShape
		}
		return d, nil
	}
	if !json.Valid(trimmed) {
		return nil, ErrNotJSON
	}
	return nil, ErrUnknownShape
}

func checkAgainstReference(t *testing.T, payload []byte, d *Delivery, err error) {
	t.Helper()
	want, wantErr := referenceParse(payload)
	if fmt.Sprint(err) != fmt.Sprint(wantErr) || errors.Is(err, ErrNotJSON) != errors.Is(wantErr, ErrNotJSON) {
		t.Fatalf("Parse error %v, encoding/json reference error %v; payload %.200q", err, wantErr, payload)
	}
	if err == nil && !reflect.DeepEqual(d, want) {
		t.Fatalf("Parse and the encoding/json reference differ; payload %.200q\nParse     %+v\nreference %+v", payload, d, want)
	}
}

// countRecords counts a delivery's records with encoding/json.
func countRecords(t *testing.T, shape Shape, payload []byte) int {
	t.Helper()
	trimmed := bytes.TrimSpace(payload)
	switch shape {
	case ShapeEvent:
		return 1
	case ShapeArray:
		var events []json.RawMessage
		if err := json.Unmarshal(trimmed, &events); err != nil {
			t.Fatalf("array delivery encoding/json cannot read: %v", err)
		}
		return len(events)
	case ShapeSQS:
		var batch struct {
			Records []sqsRecord `json:"Records"`
		}
		if err := json.Unmarshal(trimmed, &batch); err != nil {
			t.Fatalf("SQS delivery encoding/json cannot read: %v", err)
		}
		return len(batch.Records)
	}
	t.Fatalf("unknown shape %q", shape)
	return 0
}

var (
	canonicalUUID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	// Each reason Parse gives, worded to say what is wrong with the record.
	notAnEvent = regexp.MustCompile(`(?s)^record is not an EventBridge event \(not a JSON object\): \S.*$`)
	reasons    = []*regexp.Regexp{
		notAnEvent,
		regexp.MustCompile(`^event has neither detail-type nor detail\.topicName$`),
		regexp.MustCompile(`(?s)^\S.* event has no conversation id \(eventBody\.(conversationId|id)\)$`),
		regexp.MustCompile(`(?s)^conversation id ".+" is not a UUID$`),
	}
)

// checkDelivery checks the properties of a delivery of n records.
func checkDelivery(t *testing.T, d *Delivery, n int) {
	t.Helper()
	accepted := len(d.eventKeys) // one key per accepted event
	if accepted+len(d.Rejected)+d.Ignored != n {
		t.Fatalf("%d records, but %d accepted + %d rejected + %d ignored", n, accepted, len(d.Rejected), d.Ignored)
	}
	notEvents := 0
	indexes := map[int]bool{}
	for _, r := range d.Rejected {
		if r.Index < 0 || r.Index >= n || indexes[r.Index] {
			t.Fatalf("rejection index %d: out of [0,%d) or repeated: %+v", r.Index, n, d.Rejected)
		}
		indexes[r.Index] = true
		specific := false
		for _, re := range reasons {
			specific = specific || re.MatchString(r.Reason)
		}
		if !specific {
			t.Fatalf("rejection of record %d has no specific reason: %q", r.Index, r.Reason)
		}
		if notAnEvent.MatchString(r.Reason) {
			notEvents++
		}
	}
	if d.Events+notEvents != n {
		t.Fatalf("%d records: %d events + %d not events", n, d.Events, notEvents)
	}
	if d.Shape != ShapeSQS && len(d.Accepted) != 0 {
		t.Fatalf("%s delivery lists SQS message ids %q", d.Shape, d.Accepted)
	}
	if len(d.Accepted) > accepted {
		t.Fatalf("%d message ids accepted for %d accepted events", len(d.Accepted), accepted)
	}
	if (accepted == 0) != (len(d.Conversations) == 0) || len(d.Conversations) > accepted {
		t.Fatalf("%d accepted events, %d conversations", accepted, len(d.Conversations))
	}
	seen := map[string]bool{}
	for _, c := range d.Conversations {
		if !canonicalUUID.MatchString(c.ID) {
			t.Fatalf("accepted conversation id %q is not a canonical UUID", c.ID)
		}
		if seen[c.ID] {
			t.Fatalf("conversation %s listed twice", c.ID)
		}
		seen[c.ID] = true
		if c.OrgID != "" && !canonicalUUID.MatchString(c.OrgID) {
			t.Fatalf("conversation %s: org id %q is not a canonical UUID", c.ID, c.OrgID)
		}
		if c.Topic == "" {
			t.Fatalf("conversation %s: no event kind", c.ID)
		}
	}
	for _, k := range d.eventKeys {
		id, _, _ := strings.Cut(k, "|")
		if !seen[id] {
			t.Fatalf("accepted event key %q names no listed conversation", k)
		}
	}
	if !strings.HasPrefix(d.WorkflowID(), "genesys-ingest-") {
		t.Fatalf("workflow id %q", d.WorkflowID())
	}
}

func hasConversation(d *Delivery, id string) bool {
	for _, c := range d.Conversations {
		if c.ID == id {
			return true
		}
	}
	return false
}
