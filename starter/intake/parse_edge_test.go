package intake

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genesys-ingest/genesys-ingest/internal/fixtures"
)

// customerEnd is a customer.end event about conversation id, with extra
// members spliced in front of eventBody's own.
func customerEnd(id, eventBodyExtra string) string {
	return `{"id":"e-1","detail-type":"v2.detail.events.conversation.{id}.customer.end",` +
		`"source":"aws.partner/genesys.com/cloud/` + org + `/conversations",` +
		`"detail":{"topicName":"v2.detail.events.conversation.` + id + `.customer.end",` +
		`"eventBody":{` + eventBodyExtra + `"conversationId":"` + id + `"}}}`
}

// sqs wraps bodies into an SQS batch the way an event source mapping does.
func sqs(bodies ...string) []byte {
	type record struct {
		MessageID string `json:"messageId"`
		Body      string `json:"body"`
	}
	records := make([]record, len(bodies))
	for i, b := range bodies {
		records[i] = record{MessageID: fmt.Sprintf("m-%d", i), Body: b}
	}
	payload, err := json.Marshal(map[string]any{"Records": records})
	if err != nil {
		panic(err)
	}
	return payload
}

func TestParseEdgeEscapedUnicodeInBodies(t *testing.T) {
	// Keys and values spelled with \u escapes, a surrogate pair and raw UTF-8
	// in other fields, and an upper-case id behind escapes.
	body := `{"detail\u002dtype":"v2.detail.events.conversation.{id}.acw","note":"\ud83d\ude00 é \u00e9 \"q\" \\ \/",` +
		`"detail":{"eventBody":{"\u0063onversationId":"\u0035E8D1C3A-9f7b-4b2e-8c61-0d4f7a2b9e10","eventTime":1764241230789}}}`
	d, err := Parse(sqs(body))
	require.NoError(t, err)
	require.Empty(t, d.Rejected)
	require.Len(t, d.Conversations, 1)
	assert.Equal(t, voiceConversation, d.Conversations[0].ID)
	assert.Equal(t, "acw", d.Conversations[0].Topic)
	assert.Equal(t, int64(1764241230789), d.Conversations[0].EventTime)
}

func TestParseEdgeEventTimeKinds(t *testing.T) {
	for raw, want := range map[string]int64{
		`1764241200123`:   1764241200123,
		`-5`:              -5,
		`1.7642412e12`:    0,
		`1e3`:             0,
		`"1764241200123"`: 0,
		`null`:            0,
		`{"ms":1}`:        0,
		`[1]`:             0,
		`true`:            0,
	} {
		d, err := Parse([]byte(customerEnd(voiceConversation, `"eventTime":`+raw+`,`)))
		require.NoError(t, err, raw)
		require.Len(t, d.Conversations, 1, raw)
		assert.Equal(t, want, d.Conversations[0].EventTime, raw)
	}
	d, err := Parse([]byte(customerEnd(voiceConversation, "")))
	require.NoError(t, err)
	assert.Zero(t, d.Conversations[0].EventTime, "no eventTime")
}

func TestParseEdgeNestedUnknownFieldsAreSkipped(t *testing.T) {
	deep := strings.Repeat(`{"a":[`, 200) + `"x"` + strings.Repeat(`]}`, 200)
	extra := `"unknown":` + deep + `,"list":[1,-2.5e-3,true,false,null,"s",{"id":"not-this"}],"big":"` + strings.Repeat("z", 1<<20) + `",`
	d, err := Parse(sqs(customerEnd(voiceConversation, extra)))
	require.NoError(t, err)
	assert.Empty(t, d.Rejected)
	assert.Equal(t, []string{voiceConversation}, ids(d))
}

func TestParseEdgeKeysMatchAsEncodingJSONDoes(t *testing.T) {
	// Keys match case-insensitively (with Unicode folding: ſ is s), a later
	// key overrides an earlier one, null leaves a field as it was, and
	// repeated objects merge.
	payload := `{"DETAIL-TYPE":"v2.users.{id}.presence","detail-type":"v2.detail.events.conversation.{id}.acw",` +
		`"ſource":"aws.partner/genesys.com/cloud/` + strings.ToUpper(org) + `/x",` +
		`"detail":{"eventBody":{"conversationid":"` + messageConversation + `"}},` +
		`"Detail":{"EVENTBODY":{"eventTime":42},"eventBody":null},` +
		`"detail":{"eventBody":{"conversationId":"` + voiceConversation + `","ConversationId":null}}}`
	d, err := Parse([]byte(payload))
	require.NoError(t, err)
	assert.Equal(t, ShapeEvent, d.Shape)
	require.Len(t, d.Conversations, 1)
	assert.Equal(t, voiceConversation, d.Conversations[0].ID)
	assert.Equal(t, "acw", d.Conversations[0].Topic)
	assert.Equal(t, org, d.Conversations[0].OrgID)
	assert.Equal(t, int64(42), d.Conversations[0].EventTime)
}

func TestParseEdgeWrongTypesRejectRecordsWithEncodingJSONErrors(t *testing.T) {
	for _, body := range []string{
		`{"detail":{"eventBody":{"conversationId":5}}}`,
		`{"detail":[]}`,
		`{"detail":{"topicName":{}}}`,
		`{"id":true,"detail-type":1}`,
		`[1,2]`,
		`"text"`,
		`42`,
	} {
		d, err := Parse(sqs(body, customerEnd(voiceConversation, "")))
		require.NoError(t, err, body)
		require.Len(t, d.Rejected, 1, body)
		assert.Equal(t, "m-0", d.Rejected[0].MessageID)
		var env envelope
		stdErr := json.Unmarshal([]byte(body), &env)
		require.ErrorContains(t, stdErr, "cannot unmarshal")
		assert.Equal(t, "record is not an EventBridge event (not a JSON object): "+shorten(stdErr.Error()), d.Rejected[0].Reason)
		assert.Equal(t, []string{voiceConversation}, ids(d), "the other record still counts")
		assert.Equal(t, []string{"m-1"}, d.Accepted)
	}
}

func TestParseEdgeInvalidBodiesAreRejected(t *testing.T) {
	good := customerEnd(voiceConversation, "")
	for _, body := range []string{
		"",
		"not json",
		good[:len(good)-1],
		good + " x",
		good + "}",
		strings.Replace(good, `"e-1"`, "\"e\n1\"", 1), // a raw line feed inside a string
		strings.Replace(good, `"e-1"`, `"e\x1"`, 1),
		strings.Replace(good, `"e-1"`, `01`, 1),
		strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
		"\xef\xbb\xbf" + good, // a byte order mark
	} {
		d, err := Parse(sqs(body))
		require.NoError(t, err, "%q", body)
		require.Len(t, d.Rejected, 1, "%q", body)
		assert.Contains(t, d.Rejected[0].Reason, "record is not an EventBridge event (not a JSON object)", "%q", body)
		assert.Empty(t, d.Conversations)
		assert.Empty(t, d.Accepted)
		assert.Zero(t, d.Events)
	}
}

func TestParseEdgeNullBodiesAndRecords(t *testing.T) {
	d, err := Parse([]byte(`{"Records":[null,{"messageId":"m-1","body":null},{"messageId":"m-2","body":"null"}]}`))
	require.NoError(t, err)
	require.Len(t, d.Rejected, 3)
	assert.Contains(t, d.Rejected[0].Reason, "unexpected end of JSON input")
	assert.Equal(t, "m-1", d.Rejected[1].MessageID)
	assert.Contains(t, d.Rejected[1].Reason, "unexpected end of JSON input")
	// The JSON null decodes to an empty event, which counts as an event.
	assert.Equal(t, 1, d.Events)
	assert.Equal(t, "event has neither detail-type nor detail.topicName", d.Rejected[2].Reason)
}

func TestParseEdgeInvalidUTF8InConversationID(t *testing.T) {
	d, err := Parse([]byte(customerEnd("5e8d1c3a-9f7b-4b2e-8c61-0d4f7a2b9e1\xff", "")))
	require.NoError(t, err)
	require.Len(t, d.Rejected, 1)
	// encoding/json turns the bad byte into U+FFFD.
	assert.Equal(t, "conversation id \"5e8d1c3a-9f7b-4b2e-8c61-0d4f7a2b9e1\ufffd\" is not a UUID", d.Rejected[0].Reason)
}

func TestParseEdgeWrapperShapes(t *testing.T) {
	for payload, want := range map[string]error{
		`{"Records":{}}`:                 ErrUnknownShape,
		`{"Records":"x"}`:                ErrUnknownShape,
		`{"Records":[5]}`:                ErrUnknownShape,
		`{"Records":[{"body":5}]}`:       ErrUnknownShape,
		`{"Records":[{"messageId":[]}]}`: ErrUnknownShape,
		`{"detail-type":5,"detail":{}}`:  ErrUnknownShape,
		`{"Records":null}`:               ErrUnknownShape,
		`{"detail-type":null}`:           ErrUnknownShape,
		`null`:                           ErrUnknownShape,
		`true`:                           ErrUnknownShape,
		"":                               ErrNotJSON,
		" \n\t":                          ErrNotJSON,
		`{"Records":[]`:                  ErrNotJSON,
		`{"Records":[],}`:                ErrNotJSON,
		`[1,]`:                           ErrNotJSON,
		`{'a':1}`:                        ErrNotJSON,
		`{"a":NaN}`:                      ErrNotJSON,
		`{"a":1} // comment`:             ErrNotJSON,
		"{\"a\":\"\t\"}":                 ErrNotJSON,
		`{"a":"\u12"}`:                   ErrNotJSON,
		`{"a":"\a"}`:                     ErrNotJSON,
		`{"a":-}`:                        ErrNotJSON,
		`{"a":1.}`:                       ErrNotJSON,
		`{"a":.1}`:                       ErrNotJSON,
		`{"a":1e}`:                       ErrNotJSON,
		`{"a":012}`:                      ErrNotJSON,
		`{"a":+1}`:                       ErrNotJSON,
		`{"a":nul}`:                      ErrNotJSON,
		`{"a" 1}`:                        ErrNotJSON,
		`{"a":1 "b":2}`:                  ErrNotJSON,
		"\xef\xbb\xbf{}":                 ErrNotJSON,
		strings.Repeat("[", 10001) + strings.Repeat("]", 10001): ErrNotJSON,
	} {
		_, err := Parse([]byte(payload))
		assert.True(t, errors.Is(err, want), "payload %.40q: got %v, want %v", payload, err, want)
		assert.Equal(t, want == ErrNotJSON, errors.Is(err, ErrNotJSON), "payload %.40q", payload)
	}

	// Type errors keep encoding/json's wording after ErrUnknownShape.
	_, err := Parse([]byte(`{"Records":[{"body":5}]}`))
	assert.EqualError(t, err, ErrUnknownShape.Error()+": json: cannot unmarshal number into Go struct field sqsRecord.Records.body of type string")

	// Nesting up to encoding/json's limit is JSON; the shape decides.
	d, err := Parse([]byte(strings.Repeat("[", 10000) + strings.Repeat("]", 10000)))
	require.NoError(t, err)
	assert.Equal(t, ShapeArray, d.Shape)
	require.Len(t, d.Rejected, 1)

	// Unicode white space around the payload is trimmed.
	d, err = Parse([]byte("\u00a0\u2003" + customerEnd(voiceConversation, "") + "\u0085"))
	require.NoError(t, err)
	assert.Equal(t, []string{voiceConversation}, ids(d))

	// "detail" makes an event whatever its value, even null.
	d, err = Parse([]byte(`{"detail":null}`))
	require.NoError(t, err)
	assert.Equal(t, ShapeEvent, d.Shape)
	assert.Equal(t, "event has neither detail-type nor detail.topicName", d.Rejected[0].Reason)

	// A later "Records": null undoes an earlier array.
	_, err = Parse([]byte(`{"Records":[],"records":null}`))
	assert.ErrorIs(t, err, ErrUnknownShape)
}

func TestParseEdgeRepeatedRecordsMergeAsEncodingJSONDoes(t *testing.T) {
	// encoding/json decodes a second Records array into the first one's
	// elements: record 0 keeps its messageId and takes the new body.
	payload := fmt.Sprintf(`{"Records":[{"messageId":"m-a","body":"{}"}],"Records":[{"body":%q}]}`, customerEnd(voiceConversation, ""))
	d, err := Parse([]byte(payload))
	require.NoError(t, err)
	assert.Equal(t, ShapeSQS, d.Shape)
	assert.Equal(t, []string{voiceConversation}, ids(d))
	assert.Equal(t, []string{"m-a"}, d.Accepted)
}

func TestParseEdgeLargeBatchWithPoisonRecords(t *testing.T) {
	const n = 10_000
	bodies := make([]string, n)
	for i := range bodies {
		bodies[i] = customerEnd(fmt.Sprintf("00000000-0000-4000-8000-%012x", i%7000), fmt.Sprintf(`"eventTime":%d,`, i))
	}
	bodies[17] = `{"detail":`
	bodies[4242] = customerEnd("DROP TABLE", "")
	d, err := Parse(sqs(bodies...))
	require.NoError(t, err)
	assert.Equal(t, ShapeSQS, d.Shape)
	assert.Equal(t, n-1, d.Events)
	require.Len(t, d.Rejected, 2)
	assert.Equal(t, 17, d.Rejected[0].Index)
	assert.Equal(t, "m-4242", d.Rejected[1].MessageID)
	assert.Contains(t, d.Rejected[1].Reason, "is not a UUID")
	assert.Len(t, d.Accepted, n-2)
	// Ids repeat from record 7000 on; record 4242's id appears nowhere else.
	assert.Len(t, d.Conversations, 7000-1)
	assert.Equal(t, int64(1), d.Conversations[1].EventTime, "the first event of a conversation wins")
	assert.Len(t, d.eventKeys, n-2)
}

// validityCorpus is JSON and near-JSON text for the property tests below.
func validityCorpus(t testing.TB) [][]byte {
	corpus := [][]byte{
		nil, []byte(`{}`), []byte(`[]`), []byte(`""`), []byte(`0`), []byte(`-0.0e+0`), []byte(`1E-7`),
		[]byte(`"\ud800"`), []byte(`"\udc00\ud800\u0041"`), []byte(`"\ud83d\ude00"`), []byte("\"\xff\""),
		[]byte(`{"a":1,"a":2}`), []byte(`[1 , 2 ,3]`), []byte(" {\r\n\t} "), []byte("\x00"), []byte(`"\u00"`),
		[]byte(`{"id":"x","ID":null,"Id":"y"}`), []byte(`{"detail":{"eventBody":{"eventTime":[1,{"a":2}]}}}`),
	}
	for _, name := range []string{"customer-end", "acw", "queue-conversations", "pipes-array", "sqs-batch"} {
		corpus = append(corpus, fixtures.Read(t, "events/"+name+".json"))
	}
	return corpus
}

// FuzzParseValidity checks that Parse reports ErrNotJSON exactly when
// json.Valid rejects the payload.
func FuzzParseValidity(f *testing.F) {
	for _, seed := range validityCorpus(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		_, err := Parse(payload)
		if valid := json.Valid(bytes.TrimSpace(payload)); valid == errors.Is(err, ErrNotJSON) {
			t.Fatalf("json.Valid %v, Parse error %v, payload %q", valid, err, payload)
		}
	})
}

// FuzzUnmarshal checks that unmarshal accepts and decodes what Parse gives
// it (an event, an object delivery, an array delivery) as encoding/json does,
// with encoding/json's errors.
func FuzzUnmarshal(f *testing.F) {
	for _, seed := range validityCorpus(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		checkUnmarshal[envelope](t, raw)
		checkUnmarshal[wrapper](t, raw)
		checkUnmarshal[[]json.RawMessage](t, raw)
	})
}

func checkUnmarshal[T any](t *testing.T, raw []byte) {
	t.Helper()
	var want, got T
	wantErr := json.Unmarshal(raw, &want)
	err := unmarshal(raw, &got)
	if fmt.Sprint(wantErr) != fmt.Sprint(err) {
		t.Fatalf("%q into %T: encoding/json error %v, unmarshal error %v", raw, got, wantErr, err)
	}
	if wantErr == nil && !reflect.DeepEqual(want, got) {
		t.Fatalf("%q:\nencoding/json %s\nunmarshal     %s", raw, marshal(t, want), marshal(t, got))
	}
}

func marshal(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
