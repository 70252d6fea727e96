package simulator

import (
	"encoding/json"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// visibility is what the analytics API shows of a conversation at a moment.
type visibility int

const (
	absent   visibility = iota // emitted too recently: 404 / missing
	notReady                   // no conversationEnd, no wrap-up yet
	complete
)

func (v visibility) String() string {
	return [...]string{"absent", "notReady", "complete"}[v]
}

// entry is one conversation of the pool. Serialized JSON is built once and
// shared by every response, which is what makes multi-get cheap.
type entry struct {
	index   int
	id      string
	startMs int64
	endedAt atomic.Int64 // unix nanoseconds when /sim/emit handed out its events; 0 = historical

	completeOnce sync.Once
	completeJSON []byte
	// notReadyJSON, poison and brokenJSON exist only for emitted
	// conversations (each is emitted once); they are written before endedAt
	// is published, so a reader that sees endedAt also sees them.
	notReadyJSON []byte
	// lateWrapUpJSON is served during Settings.LateWrapUpFor.
	lateWrapUpJSON []byte
	poison         poisonKind
	brokenJSON     []byte
}

// wrapUpLate: in the LateWrapUpFor after the not-ready window, an emitted
// conversation shows its conversationEnd but not its wrap-up codes yet.
func (e *entry) wrapUpLate(now time.Time, st *Settings) bool {
	ended := e.endedAt.Load()
	if ended == 0 || st.LateWrapUpFor == 0 {
		return false
	}
	since, ready := time.Duration(now.UnixNano()-ended), st.AbsentFor+st.WrapupFor
	return since >= ready && since < ready+st.LateWrapUpFor
}

// poisoned is how the conversation is permanently bad; poisonNone until it
// is emitted.
func (e *entry) poisoned() poisonKind {
	if e.endedAt.Load() == 0 {
		return poisonNone
	}
	return e.poison
}

func (e *entry) visibility(now time.Time, absentFor, wrapupFor time.Duration) visibility {
	ended := e.endedAt.Load()
	if ended == 0 {
		return complete
	}
	since := time.Duration(now.UnixNano() - ended)
	switch {
	case since < absentFor:
		return absent
	case since < absentFor+wrapupFor:
		return notReady
	default:
		return complete
	}
}

// pool is the growing, index-ordered set of known conversations.
type pool struct {
	gen *Generator

	mu      sync.RWMutex
	entries []*entry
	byID    map[string]*entry
	cursor  int // next index /sim/emit hands out
}

func newPool(gen *Generator, size int) *pool {
	p := &pool{gen: gen, byID: make(map[string]*entry, size)}
	p.grow(size)
	p.prewarm()
	return p
}

// grow extends the pool to size entries; callers hold p.mu for writing
// (or own p exclusively). Records are serialized lazily or by prewarm.
func (p *pool) grow(size int) {
	for i := len(p.entries); i < size; i++ {
		e := &entry{index: i, id: p.gen.ConversationID(i), startMs: p.gen.startMs(i)}
		p.entries = append(p.entries, e)
		p.byID[e.id] = e
	}
}

// prewarm serializes records on every core so the first requests are as fast
// as later ones.
func (p *pool) prewarm() {
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(p.entries); i += workers {
				p.completeJSON(p.entries[i])
			}
		})
	}
	wg.Wait()
}

func (p *pool) completeJSON(e *entry) []byte {
	e.completeOnce.Do(func() {
		c := p.gen.Generate(e.index)
		e.completeJSON = mustMarshal(c.Record)
	})
	return e.completeJSON
}

// lookup returns the entry of a conversation id, or nil.
func (p *pool) lookup(id string) *entry {
	p.mu.RLock()
	e := p.byID[id]
	p.mu.RUnlock()
	return e
}

// lookupMany resolves ids under one lock; unknown ids give nil.
func (p *pool) lookupMany(ids []string) []*entry {
	out := make([]*entry, len(ids))
	p.mu.RLock()
	for k, id := range ids {
		out[k] = p.byID[id]
	}
	p.mu.RUnlock()
	return out
}

// takeNext reserves the next n never-emitted conversations, growing the pool
// when fewer remain. Determinism holds because entry i depends only on i.
func (p *pool) takeNext(n int) []*entry {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cursor+n > len(p.entries) {
		p.grow(p.cursor + n)
	}
	taken := p.entries[p.cursor : p.cursor+n]
	p.cursor += n
	return taken
}

// markEnded publishes an emitted conversation's readiness clock and whether
// it is poisoned. Its record c is passed in because emission has just
// generated it for the events.
func (p *pool) markEnded(e *entry, c Conversation, now time.Time, poison poisonKind) {
	e.completeOnce.Do(func() { e.completeJSON = mustMarshal(c.Record) })
	e.notReadyJSON = mustMarshal(c.NotReady())
	e.lateWrapUpJSON = mustMarshal(c.LateWrapUp())
	e.poison = poison
	if poison == poisonBrokenRecord {
		e.brokenJSON = brokenRecordJSON(c.Record)
	}
	e.endedAt.Store(now.UnixNano())
}

// emitted resolves ids that must all have been emitted already.
func (p *pool) emitted(ids []string) ([]*entry, error) {
	entries := p.lookupMany(ids)
	for k, e := range entries {
		if e == nil || e.endedAt.Load() == 0 {
			return nil, fmt.Errorf("conversation %q has not been emitted", ids[k])
		}
	}
	return entries, nil
}

// startRange returns the entries whose conversationStart lies in [from, to),
// in start order. The slice aliases the pool and must not be modified.
func (p *pool) startRange(from, to time.Time) []*entry {
	p.mu.RLock()
	defer p.mu.RUnlock()
	lo := sort.Search(len(p.entries), func(i int) bool { return p.entries[i].startMs >= from.UnixMilli() })
	hi := sort.Search(len(p.entries), func(i int) bool { return p.entries[i].startMs >= to.UnixMilli() })
	return p.entries[lo:hi]
}

// mustMarshal is for the simulator's own types, which always encode.
func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("simulator: marshal: " + err.Error())
	}
	return b
}
