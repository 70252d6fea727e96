package workflows

import (
	"encoding/json"
	"flag"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"pgregory.net/rapid"
)

// Property tests of fetchCore: random interleavings of submissions from
// several batches with overlapping and repeated ids, every kind of fetch
// outcome, pings, batches that vanish, and continue-as-new at any quiet
// point. go test runs them with a fixed seed, so that a failure in CI is
// reproducible; make chaos runs many more checks with random seeds
// (-rapid.seed=N -rapid.checks=N).

// coreModel drives a fetchCore the way the FetchScheduler workflow and the
// batches around it do, and checks the protocol's promises.
type coreModel struct {
	core     *fetchCore
	batches  []*modelBatch
	inFlight []fetchChunk
	// sent are signals the core returned and the model has not delivered.
	sent []outgoing
	now  time.Time
}

type modelBatch struct {
	name  string
	alive bool
	seq   int
	// open is the submission waiting for its report (at most one, like
	// maxOpenSubmissions); nil when none.
	open *FetchSubmission
	// reported counts reports per seq.
	reported map[int]int
	// asked: a ResubmitRequest reached the batch, which has not acted on it
	// yet (it may vanish first).
	asked bool
}

const (
	modelBatchSize = 4
	modelQueued    = 4
	modelSubmit    = 2
)

var modelIDs = func() []string {
	ids := make([]string, 10)
	for i := range ids {
		ids[i] = fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
	}
	return ids
}()

func newCoreModel() *coreModel {
	m := &coreModel{now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	m.core = newFetchCore(Options{FetchBatchSize: modelBatchSize, FetchConcurrency: 2}.withDefaults(), nil)
	m.core.limits = coreLimits{queued: modelQueued, submission: modelSubmit}
	m.core.bounded = true
	m.core.advance(m.now)
	for i := range 5 {
		m.batches = append(m.batches, &modelBatch{name: fmt.Sprintf("batch-%d", i), alive: true, reported: map[int]int{}})
	}
	return m
}

func (m *coreModel) take(out []outgoing) {
	m.sent = append(m.sent, out...)
}

func (m *coreModel) batch(name string) *modelBatch {
	for _, b := range m.batches {
		if b.name == name {
			return b
		}
	}
	panic("unknown batch " + name)
}

// submit sends a new submission from a live batch with none open.
func (m *coreModel) submit(t *rapid.T) {
	var idle []*modelBatch
	for _, b := range m.batches {
		if b.alive && b.open == nil {
			idle = append(idle, b)
		}
	}
	if len(idle) == 0 {
		t.Skip("every live batch has a submission open")
	}
	b := rapid.SampledFrom(idle).Draw(t, "batch")
	ids := rapid.SliceOfNDistinct(rapid.SampledFrom(modelIDs), 1, 3, rapid.ID[string]).Draw(t, "ids")
	refs := make([]ConversationRef, len(ids))
	for i, id := range ids {
		refs[i] = ConversationRef{ID: id}
	}
	if rapid.Bool().Draw(t, "repeatAnID") {
		refs = append(refs, refs[0])
	}
	b.seq++
	sub := &FetchSubmission{Requester: b.name, Seq: b.seq, OrgID: "org", Conversations: refs,
		StoreIncomplete: rapid.Bool().Draw(t, "storeIncomplete"), Backfill: rapid.Bool().Draw(t, "backfill")}
	b.open = sub
	m.take(m.core.accept(*sub))
}

// ping: a batch that has had no report for a while asks after its open
// submission. (A batch sends a whole submission again only when asked to,
// see deliver, and signals reach it in the order they were sent, so it
// never resends one whose report is on its way.)
func (m *coreModel) ping(t *rapid.T) {
	b := m.openBatch(t)
	m.take(m.core.accept(FetchSubmission{Requester: b.name, Seq: b.open.Seq, Ping: true}))
}

func (m *coreModel) openBatch(t *rapid.T) *modelBatch {
	var open []*modelBatch
	for _, b := range m.batches {
		if b.alive && b.open != nil {
			open = append(open, b)
		}
	}
	if len(open) == 0 {
		t.Skip("no submission open")
	}
	return rapid.SampledFrom(open).Draw(t, "batch")
}

// dispatch takes every chunk the core hands out.
func (m *coreModel) dispatch(t *rapid.T) {
	m.take(m.core.invitations())
	for {
		liveDue := len(m.core.queue)
		ch, ok := m.core.nextChunk()
		if !ok {
			return
		}
		if ch.backfill && liveDue > 0 {
			t.Fatalf("a backfill chunk went out while %d live conversations were queued", liveDue)
		}
		m.inFlight = append(m.inFlight, ch)
	}
}

// complete finishes one chunk in flight with any outcome a fetch can have.
func (m *coreModel) complete(t *rapid.T) {
	if len(m.inFlight) == 0 {
		t.Skip("nothing in flight")
	}
	i := rapid.IntRange(0, len(m.inFlight)-1).Draw(t, "chunk")
	ch := m.inFlight[i]
	m.inFlight = slices.Delete(m.inFlight, i, i+1)
	switch rapid.IntRange(0, 3).Draw(t, "outcome") {
	case 0: // Genesys refused the request for one of its ids
		m.take(m.core.complete(ch, FetchResult{}, temporal.NewNonRetryableApplicationError("400", ErrTypeBadRequest, nil)))
	case 1: // the retry horizon passed
		m.take(m.core.complete(ch, FetchResult{}, temporal.NewApplicationError("503", ErrTypeUnavailable)))
	default:
		res := FetchResult{Requests: 1}
		for _, e := range ch.entries {
			switch rapid.IntRange(0, 4).Draw(t, "conversation") {
			case 0:
				res.NotReady = append(res.NotReady, e.ref.ID)
			case 1:
				res.Failed = append(res.Failed, Failure{ConversationID: e.ref.ID, Reason: "InvalidConversationRecord"})
			case 2:
				res.UnchangedIDs = append(res.UnchangedIDs, e.ref.ID)
			case 3 * boolInt(ch.storeIncomplete):
				res.IncompleteIDs = append(res.IncompleteIDs, e.ref.ID)
			}
		}
		m.take(m.core.complete(ch, res, nil))
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// deliver hands the sent signals to their batches; a vanished batch cannot
// take one, and the core hears so.
func (m *coreModel) deliver(t *rapid.T) {
	sent := m.sent
	m.sent = nil
	for _, o := range sent {
		b := m.batch(o.workflowID)
		if !b.alive {
			m.core.undelivered(o)
			continue
		}
		switch r := o.arg.(type) {
		case FetchReport:
			m.checkReport(t, b, r)
		case ResubmitRequest:
			if b.open != nil && b.open.Seq == r.Seq {
				b.asked = true
			}
		}
	}
}

// checkReport: every conversation of the submission is counted exactly
// once, in exactly one report.
func (m *coreModel) checkReport(t *rapid.T, b *modelBatch, r FetchReport) {
	b.reported[r.Seq]++
	if b.reported[r.Seq] > 1 {
		t.Fatalf("%s got a second report for submission %d", b.name, r.Seq)
	}
	if b.open == nil || b.open.Seq != r.Seq {
		t.Fatalf("%s got a report for submission %d, which is not open", b.name, r.Seq)
	}
	unique := map[string]bool{}
	for _, c := range b.open.Conversations {
		unique[c.ID] = true
	}
	counted := r.StoredComplete + r.StoredIncomplete + r.Unchanged + len(r.NotReady) + len(r.Failed)
	if counted != len(unique) {
		t.Fatalf("%s submission %d: report counts %d conversations, want %d: %+v", b.name, r.Seq, counted, len(unique), r)
	}
	b.open = nil
}

// resubmit: a batch acts on a ResubmitRequest it received.
func (m *coreModel) resubmit(t *rapid.T) {
	var asked []*modelBatch
	for _, b := range m.batches {
		if b.alive && b.asked {
			asked = append(asked, b)
		}
	}
	if len(asked) == 0 {
		t.Skip("no batch was asked to resubmit")
	}
	b := rapid.SampledFrom(asked).Draw(t, "batch")
	b.asked = false
	if b.open != nil {
		m.take(m.core.accept(*b.open))
	}
}

// tick lets workflow time pass.
func (m *coreModel) tick(t *rapid.T) {
	m.now = m.now.Add(time.Duration(rapid.IntRange(1, 600).Draw(t, "seconds")) * time.Second)
	m.core.advance(m.now)
}

// vanish: a batch is terminated, whatever it was waiting for.
func (m *coreModel) vanish(t *rapid.T) {
	var alive []*modelBatch
	for _, b := range m.batches {
		if b.alive {
			alive = append(alive, b)
		}
	}
	if len(alive) <= 1 {
		t.Skip("keep one batch alive")
	}
	rapid.SampledFrom(alive).Draw(t, "batch").alive = false
}

// continueAsNew carries the core's state through JSON into a new one, at a
// point where the workflow may: every signal answered. Chunks still in
// flight are abandoned; their results never arrive.
func (m *coreModel) continueAsNew(t *rapid.T) {
	if len(m.sent) > 0 {
		t.Skip("the workflow continues as new only once its signals are answered")
	}
	m.inFlight = nil
	carry := m.core.carry()
	b, err := json.Marshal(SchedulerInput{Options: m.core.opts, Carry: &carry})
	if err != nil {
		t.Fatal(err)
	}
	var in SchedulerInput
	if err := json.Unmarshal(b, &in); err != nil {
		t.Fatal(err)
	}
	limits, now := m.core.limits, m.core.now
	m.core = newFetchCore(in.Options, in.Carry)
	m.core.limits, m.core.bounded = limits, true
	m.core.advance(now)
}

// check holds after every step.
func (m *coreModel) check(t *rapid.T) {
	seen := map[fetchKey]bool{}
	for _, ch := range m.inFlight {
		for _, e := range ch.entries {
			k := fetchKey{id: e.ref.ID, storeIncomplete: e.storeIncomplete}
			if seen[k] {
				t.Fatalf("%v is in two chunks in flight", k)
			}
			seen[k] = true
		}
		if len(ch.entries) > m.core.opts.FetchBatchSize {
			t.Fatalf("a chunk of %d ids, more than %d", len(ch.entries), m.core.opts.FetchBatchSize)
		}
	}
	if got := m.core.inFlight; got != len(m.inFlight) || got > m.core.opts.FetchConcurrency {
		t.Fatalf("core counts %d in flight, model %d, concurrency %d", got, len(m.inFlight), m.core.opts.FetchConcurrency)
	}
	backfill := 0
	for _, ch := range m.inFlight {
		if ch.backfill {
			backfill++
		}
	}
	if got := m.core.backfillInFlight; got != backfill || got > m.core.backfillSlots() {
		t.Fatalf("core counts %d backfill chunks in flight, model %d, slots %d", got, backfill, m.core.backfillSlots())
	}
	for _, e := range m.core.backfillQueue {
		if !e.backfill {
			t.Fatalf("%s is in the backfill lane but wanted live", e.ref.ID)
		}
	}
	// What an invitation reserves can come on top of a full queue.
	if q := m.core.queued(); q > m.core.limits.queued+m.core.limits.submission*(len(m.batches)) {
		t.Fatalf("%d queued", q)
	}
}

// settle lets time pass with every fetch succeeding and every live batch
// pinging as it does, and checks that no live batch is left waiting.
func (m *coreModel) settle(t *rapid.T) {
	for round := 0; round < 200; round++ {
		m.deliver(t)
		for _, b := range m.batches {
			if b.alive && b.asked && b.open != nil {
				b.asked = false
				m.take(m.core.accept(*b.open))
			}
		}
		m.dispatch(t)
		for _, ch := range m.inFlight {
			m.take(m.core.complete(ch, FetchResult{Requests: 1}, nil))
		}
		m.inFlight = nil
		if len(m.sent) > 0 {
			continue
		}
		waiting := false
		m.now = m.now.Add(submissionCheckInterval)
		for _, b := range m.batches {
			if b.alive && b.open != nil {
				waiting = true
				m.take(m.core.accept(FetchSubmission{Requester: b.name, Seq: b.open.Seq, Ping: true}))
			}
		}
		m.core.advance(m.now)
		if !waiting {
			return
		}
	}
	for _, b := range m.batches {
		if b.alive && b.open != nil {
			t.Fatalf("%s waits forever for submission %d (waitlist %v, invited %v)", b.name, b.open.Seq, m.core.waitlist, m.core.invited)
		}
	}
}

// fixedPropertySeed is the seed unless -rapid.seed names another.
const fixedPropertySeed = "20261201"

func TestFetchCoreProperties(t *testing.T) {
	if f := flag.Lookup("rapid.seed"); f != nil && f.Value.String() == "0" {
		if err := flag.Set("rapid.seed", fixedPropertySeed); err != nil {
			t.Fatal(err)
		}
	}
	if f := flag.Lookup("rapid.checks"); f != nil && f.Value.String() == f.DefValue {
		if err := flag.Set("rapid.checks", "2000"); err != nil {
			t.Fatal(err)
		}
	}
	rapid.Check(t, func(t *rapid.T) {
		m := newCoreModel()
		t.Repeat(map[string]func(*rapid.T){
			// Submissions come more often than anything else, so that the
			// queue fills up and the waitlist is reached.
			"submit":        m.submit,
			"submitMore":    m.submit,
			"submitAgain":   m.submit,
			"ping":          m.ping,
			"dispatch":      m.dispatch,
			"complete":      m.complete,
			"deliver":       m.deliver,
			"resubmit":      m.resubmit,
			"tick":          m.tick,
			"vanish":        m.vanish,
			"continueAsNew": m.continueAsNew,
			"":              m.check,
		})
		m.settle(t)
	})
}

// TestAStaleInvitationDoesNotStarveTheWaitlist: a batch invited back from
// the waitlist that vanishes before it resubmits must not hold its
// reservation forever.
func TestAStaleInvitationDoesNotStarveTheWaitlist(t *testing.T) {
	c := newFetchCore(Options{FetchBatchSize: 2, FetchConcurrency: 1}.withDefaults(), nil)
	c.limits = coreLimits{queued: 4, submission: 2}
	c.bounded = true
	sub := func(name string, ids ...int) FetchSubmission {
		s := FetchSubmission{Requester: name, Seq: 1}
		for _, i := range ids {
			s.Conversations = append(s.Conversations, ConversationRef{ID: modelIDs[i]})
		}
		return s
	}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	c.advance(now)
	c.accept(sub("full", 0, 1, 2, 3))
	c.accept(sub("gone", 4, 5))
	c.accept(sub("live", 6, 7))
	if len(c.waitlist) != 2 {
		t.Fatalf("waitlist %v", c.waitlist)
	}
	for { // the queue drains
		ch, ok := c.nextChunk()
		if !ok {
			break
		}
		c.complete(ch, FetchResult{Requests: 1}, nil)
	}
	invited := c.invitations()
	if len(invited) != 1 || invited[0].workflowID != "gone" {
		t.Fatalf("invited %v", invited)
	}
	// "gone" got the signal and was terminated before it resubmitted.
	for range 3 {
		now = now.Add(submissionCheckInterval)
		c.advance(now)
		c.accept(FetchSubmission{Requester: "live", Seq: 1, Ping: true})
		if out := c.invitations(); len(out) == 1 && out[0].workflowID == "live" {
			return
		}
	}
	t.Fatalf("live was never invited: waitlist %v, invited %v", c.waitlist, c.invited)
}

// TestTheCarryStaysInsideThePayloadLimitAtTheWorstCase: every open
// submission has all but one conversation failed with the longest reason,
// its last one still queued, and batches keep submitting. New submissions
// wait once the carry reaches its budget, and the carried JSON stays far
// below Temporal's 2 MB payload limit.
func TestTheCarryStaysInsideThePayloadLimitAtTheWorstCase(t *testing.T) {
	c := newFetchCore(Options{}.withDefaults(), nil)
	c.bounded = true
	reason := strings.Repeat("x", 2*maxReasonLen) // truncated to maxReasonLen
	n := 0
	id := func() string { n++; return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }
	waitlisted := 0
	for batch := 0; batch < 200 && waitlisted < 5; batch++ {
		sub := FetchSubmission{Requester: fmt.Sprintf("batch-%03d", batch), Seq: 1, OrgID: "org"}
		for range maxSubmission {
			sub.Conversations = append(sub.Conversations, ConversationRef{ID: id()})
		}
		before := len(c.waitlist)
		c.accept(sub)
		if len(c.waitlist) > before {
			waitlisted++
			continue
		}
		// Everything but the submission's last conversation fails.
		failing := c.queue[len(c.queue)-maxSubmission : len(c.queue)-1]
		res := FetchResult{}
		for _, e := range failing {
			res.Failed = append(res.Failed, Failure{ConversationID: e.ref.ID, Reason: reason})
		}
		last := c.queue[len(c.queue)-1]
		c.queue = append(c.queue[:len(c.queue)-maxSubmission], last)
		c.inFlight++
		c.complete(fetchChunk{entries: failing}, res, nil)
	}
	require.Equal(t, 5, waitlisted, "submissions wait once the carry is at its budget")
	b, err := json.Marshal(SchedulerInput{Options: c.opts, Carry: new(c.carry())})
	require.NoError(t, err)
	assert.Less(t, len(b), 1800<<10, "carried: %d bytes for %d open submissions", len(b), len(c.open))
	assert.Greater(t, len(b), carryBudget/2, "the worst case was reached")
	t.Logf("worst-case carry: %d bytes, %d open submissions, estimate %d", len(b), len(c.open), c.carryBytes())
}

// A conversation stored complete while an agent's wrap-up code was not
// indexed yet is fetched again for the next batch (its acw event's), not
// answered from the run's memory of what it stored.
func TestStoredAwaitingWrapUpIsFetchedAgain(t *testing.T) {
	c := newFetchCore(Options{}.withDefaults(), nil)
	c.bounded = true
	id := "00000000-0000-4000-8000-000000000001"
	c.accept(FetchSubmission{Requester: "customer-end", Seq: 1, Conversations: []ConversationRef{{ID: id}}})
	ch, ok := c.nextChunk()
	if !ok {
		t.Fatal("no chunk")
	}
	c.complete(ch, FetchResult{StoredComplete: 1, AwaitingWrapUpIDs: []string{id}, Requests: 1}, nil)

	out := c.accept(FetchSubmission{Requester: "acw", Seq: 1, Conversations: []ConversationRef{{ID: id, Topic: "acw"}}})
	if len(out) != 0 {
		t.Fatalf("answered at once: %+v", out)
	}
	if _, ok := c.nextChunk(); !ok {
		t.Fatal("not fetched again")
	}
}

// TestAFetchRequestNamesEveryBatchThatAskedForAConversation: the request
// names, per conversation, the batches waiting for it when it goes out, so
// the fetch activity can record them on the item (`starter conversations
// where`).
func TestAFetchRequestNamesEveryBatchThatAskedForAConversation(t *testing.T) {
	c := newFetchCore(Options{FetchBatchSize: 3, FetchConcurrency: 1}.withDefaults(), nil)
	ref := func(i int) ConversationRef { return ConversationRef{ID: modelIDs[i]} }
	c.accept(FetchSubmission{Requester: "batch-a", Seq: 1, Conversations: []ConversationRef{ref(0), ref(1)}})
	c.accept(FetchSubmission{Requester: "batch-b", Seq: 1, Conversations: []ConversationRef{ref(1), ref(2), ref(1)}})
	ch, ok := c.nextChunk()
	if !ok {
		t.Fatal("no chunk")
	}
	req := ch.request()
	byID := map[string][]string{}
	for i, r := range req.Conversations {
		for _, j := range req.RequestedBy[i] {
			byID[r.ID] = append(byID[r.ID], req.Requesters[j])
		}
	}
	want := map[string][]string{modelIDs[0]: {"batch-a"}, modelIDs[1]: {"batch-a", "batch-b"}, modelIDs[2]: {"batch-b"}}
	require.Equal(t, []string{"batch-a", "batch-b"}, req.Requesters)
	require.Equal(t, want, byID)
}
