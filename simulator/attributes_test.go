package simulator

import (
	"bytes"
	"cmp"
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// mergedAttributes merges the participants' attributes as the item keeps
// them: a later participant's value replaces an earlier one's, and the
// customer's values win over everyone's.
func mergedAttributes(rec AnalyticsConversation) map[string]string {
	var out map[string]string
	for _, customerPass := range []bool{false, true} {
		for _, p := range rec.Participants {
			if (p.Purpose == "customer") != customerPass || len(p.Attributes) == 0 {
				continue
			}
			if out == nil {
				out = map[string]string{}
			}
			maps.Copy(out, p.Attributes)
		}
	}
	return out
}

func TestParticipantAttributesAreOnlyInTheQueriedRecordAndMatchTheGroundTruth(t *testing.T) {
	var withAccount, withIVR, twoOutcomes int
	for i := range 2000 {
		c := Generate(testSeed, i)
		if bytes.Contains(mustMarshal(c.Record), []byte(`"attributes"`)) {
			t.Fatalf("conversation %d: Record, the GET endpoints' version, has attributes", i)
		}
		queried := c.Queried()
		if got := mergedAttributes(queried); !reflect.DeepEqual(got, c.Expected.ParticipantAttributes) {
			t.Fatalf("conversation %d: merged attributes %v, Expected %v", i, got, c.Expected.ParticipantAttributes)
		}
		if !bytes.Equal(mustMarshal(queried), mustMarshal(Generate(testSeed, i).Queried())) {
			t.Fatalf("conversation %d: queried record is not deterministic", i)
		}
		customer := queried.Participants[slices.IndexFunc(queried.Participants, func(p Participant) bool { return p.Purpose == "customer" })]
		if inbound := c.Expected.OriginatingDirection == "inbound"; inbound != (customer.Attributes["intent"] != "") {
			t.Fatalf("conversation %d (%s): customer attributes %v; only inbound flows set them", i, c.Expected.OriginatingDirection, customer.Attributes)
		}
		if customer.Sessions[0].Ani != c.Expected.CustomerAni || customer.Sessions[0].Dnis != c.Expected.CustomerDnis {
			t.Fatalf("conversation %d: Expected contact %q/%q, customer session %q/%q", i,
				c.Expected.CustomerAni, c.Expected.CustomerDnis, customer.Sessions[0].Ani, customer.Sessions[0].Dnis)
		}
		outcomes := 0
		for _, p := range queried.Participants {
			if p.Attributes["script.outcome"] != "" {
				outcomes++
			}
		}
		if customer.Attributes["accountNumber"] != "" {
			withAccount++
		}
		if customer.Attributes["ivr.menuSelection"] != "" {
			withIVR++
		}
		if outcomes > 1 {
			twoOutcomes++
		}
	}
	if withAccount == 0 || withIVR == 0 || twoOutcomes == 0 {
		t.Fatalf("attribute shapes missing: %d with an account number, %d with an IVR selection, %d with two agents' outcomes",
			withAccount, withIVR, twoOutcomes)
	}
}

func TestExpectedEventsAreTheEmittedOnes(t *testing.T) {
	em := &emitter{r: newRand(testSeed, streamEmit, 0), orgID: "org"}
	byTime := func(a, b ExpectedEvent) int {
		return cmp.Or(strings.Compare(a.EventTime, b.EventTime), strings.Compare(a.Topic, b.Topic))
	}
	for i := range 500 {
		c := Generate(testSeed, i)
		var emitted []ExpectedEvent
		for _, ev := range em.events(c.Record, []string{TopicCustomerEnd, TopicACW}, 0) {
			var env Envelope
			if err := json.Unmarshal(ev.body, &env); err != nil {
				t.Fatal(err)
			}
			emitted = append(emitted, ExpectedEvent{
				Topic:     strings.TrimPrefix(env.Detail.TopicName, topicPrefix+c.Record.ConversationID+"."),
				EventTime: formatMs(env.Detail.EventBody.EventTime),
			})
		}
		want := slices.Clone(c.Expected.Events)
		slices.SortFunc(want, byTime)
		slices.SortFunc(emitted, byTime)
		if !reflect.DeepEqual(emitted, want) {
			t.Fatalf("conversation %d: emitted %v, Expected.Events %v", i, emitted, want)
		}
	}
}

func TestDetailsQueryServesParticipantAttributesAndTheGetEndpointsDoNot(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Settings = DefaultSettings()
		c.Settings.AbsentFor = 0
		c.Settings.WrapupFor = time.Minute
	})
	token := h.token()
	ids := make([]string, 50)
	predicates := make([]map[string]any, len(ids))
	for i := range ids {
		ids[i] = h.srv.gen.ConversationID(i)
		predicates[i] = idPredicate(ids[i])
	}
	body := map[string]any{
		"interval":            interval(DefaultBaseTime, DefaultBaseTime.Add(24*time.Hour)),
		"conversationFilters": []map[string]any{clause("or", predicates...)},
		"paging":              map[string]int{"pageSize": 100, "pageNumber": 1},
	}
	page := h.queryOK(token, body)
	if len(page.Conversations) != len(ids) {
		t.Fatalf("query returned %d of %d", len(page.Conversations), len(ids))
	}
	for i, got := range page.Conversations {
		if !bytes.Equal(mustMarshal(got), mustMarshal(Generate(testSeed, i).Queried())) {
			t.Fatalf("conversation %d: query serves another record than Queried", i)
		}
	}
	for _, got := range h.multiGet(token, ids...) {
		if mergedAttributes(got) != nil {
			t.Fatalf("%s: multi-get served attributes", got.ConversationID)
		}
	}

	// An emitted conversation not ready yet has its attributes too: flows
	// set them long before after-call work ends.
	id := h.emit(EmitRequest{Conversations: 1}).ConversationIDs[0]
	truth := Generate(testSeed, slices.Index(ids, id))
	body["conversationFilters"] = []map[string]any{clause("or", idPredicate(id))}
	page = h.queryOK(token, body)
	want := truth.NotReady().withAttributes(truth.ParticipantAttributes)
	if len(page.Conversations) != 1 || !bytes.Equal(mustMarshal(page.Conversations[0]), mustMarshal(want)) {
		t.Fatalf("not-ready conversation: query served %d records, not the not-ready record with attributes", len(page.Conversations))
	}
}
