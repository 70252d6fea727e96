package simulator

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// queryAnswer is one page of a details query.
type queryAnswer struct {
	Conversations []AnalyticsConversation `json:"conversations"`
	TotalHits     int                     `json:"totalHits"`
}

// queryOK posts a details query that must succeed.
func (h *harness) queryOK(token string, body map[string]any) queryAnswer {
	h.t.Helper()
	res := h.do(http.MethodPost, queryPath, token, body)
	if res.status != http.StatusOK {
		h.t.Fatalf("query %s: %d %s", mustMarshal(body), res.status, res.body)
	}
	var out queryAnswer
	res.json(h.t, &out)
	return out
}

// pageThrough pages a query as a client does, until a short or empty page,
// and returns every page.
func (h *harness) pageThrough(token string, body map[string]any, pageSize int) []queryAnswer {
	h.t.Helper()
	var pages []queryAnswer
	for n := 1; ; n++ {
		if n > 1000 {
			h.t.Fatal("paging does not reach the end")
		}
		body["paging"] = map[string]int{"pageSize": pageSize, "pageNumber": n}
		page := h.queryOK(token, body)
		pages = append(pages, page)
		if len(page.Conversations) < pageSize {
			return pages
		}
	}
}

func clause(typ string, predicates ...map[string]any) map[string]any {
	return map[string]any{"type": typ, "predicates": predicates}
}

func idPredicate(id string) map[string]any {
	return map[string]any{"type": "dimension", "dimension": "conversationId", "operator": "matches", "value": id}
}

// endPredicate is conversationEnd with operator exists or notExists.
func endPredicate(operator string) map[string]any {
	return map[string]any{"type": "dimension", "dimension": "conversationEnd", "operator": operator}
}

func idsOf(convs []AnalyticsConversation) []string {
	ids := make([]string, len(convs))
	for k, c := range convs {
		ids[k] = c.ConversationID
	}
	return ids
}

// conversationIDs are the ids of conversations indexes, in that order.
func conversationIDs(g *Generator, indexes ...int) []string {
	ids := make([]string, len(indexes))
	for k, i := range indexes {
		ids[k] = g.ConversationID(i)
	}
	return ids
}

func TestQueryMatchesEveryUTCDayTheIntervalTouches(t *testing.T) {
	// 48 conversations a day from 2026-11-27 09:00 UTC to 2026-12-01.
	h := newHarness(t, func(c *Config) { c.Spacing = 30 * time.Minute })
	token := h.token()
	g := h.srv.gen
	startedOn := func(first, last string) []string {
		from, _ := time.Parse(time.DateOnly, first)
		to, _ := time.Parse(time.DateOnly, last)
		var ids []string
		for i := range 200 {
			if at := g.startMs(i); at >= from.UnixMilli() && at < to.AddDate(0, 0, 1).UnixMilli() {
				ids = append(ids, g.ConversationID(i))
			}
		}
		return ids
	}
	for _, tc := range []struct {
		name     string
		interval string
		want     []string
	}{
		{"one hour returns its whole day", "2026-11-28T10:00:00.000Z/2026-11-28T11:00:00.000Z", startedOn("2026-11-28", "2026-11-28")},
		{"crossing midnight returns both days", "2026-11-28T23:30:00.000Z/2026-11-29T00:30:00.000Z", startedOn("2026-11-28", "2026-11-29")},
		{"ending at midnight does not touch the next day", "2026-11-28T00:00:00.000Z/2026-11-29T00:00:00.000Z", startedOn("2026-11-28", "2026-11-28")},
		{"days are UTC days", "2026-11-29T01:00:00+02:00/2026-11-29T01:30:00+02:00", startedOn("2026-11-28", "2026-11-28")},
		{"a day before the first conversation", "2026-11-26T12:00:00.000Z/2026-11-26T13:00:00.000Z", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := h.queryOK(token, map[string]any{"interval": tc.interval, "paging": map[string]int{"pageSize": 100}})
			if ids := idsOf(got.Conversations); !slices.Equal(ids, tc.want) || got.TotalHits != len(tc.want) {
				t.Fatalf("got %d ids (totalHits %d), want %d", len(ids), got.TotalHits, len(tc.want))
			}
		})
	}
}

func TestQueryIntervalIsLimitedTo7DaysOr31WithFilters(t *testing.T) {
	h := newHarness(t)
	token := h.token()
	filters := []map[string]any{clause("or", endPredicate("exists"))}
	for _, tc := range []struct {
		name      string
		length    time.Duration
		filtered  bool
		wantError string // "" when the query must succeed
	}{
		{"7 days without filters", 7 * day, false, ""},
		{"over 7 days without filters", 7*day + time.Millisecond, false, "longer than 7 days"},
		{"over 7 days with filters", 20 * day, true, ""},
		{"31 days with filters", 31 * day, true, ""},
		{"over 31 days with filters", 31*day + time.Millisecond, true, "longer than 31 days"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := map[string]any{"interval": interval(DefaultBaseTime, DefaultBaseTime.Add(tc.length))}
			if tc.filtered {
				body["conversationFilters"] = filters
			}
			res := h.do(http.MethodPost, queryPath, token, body)
			if tc.wantError == "" {
				if res.status != http.StatusOK {
					t.Fatalf("%d %s", res.status, res.body)
				}
				return
			}
			msg := assertGenesysError(t, res, http.StatusBadRequest, "bad.request")["message"].(string)
			if !strings.Contains(msg, tc.wantError) {
				t.Fatalf("message %q does not say %q", msg, tc.wantError)
			}
		})
	}
}

func TestQueryPagesInStartOrderWithGenesysDefaults(t *testing.T) {
	h := newHarness(t)
	token := h.token()
	iv := interval(DefaultBaseTime, DefaultBaseTime.Add(time.Hour))
	asc := h.queryOK(token, map[string]any{"interval": iv, "order": "asc", "orderBy": "conversationStart"})
	if want := conversationIDs(h.srv.gen, 0, 1, 2); len(asc.Conversations) != defaultPageSize || !slices.Equal(idsOf(asc.Conversations)[:3], want) {
		t.Fatalf("asc: %d conversations starting %v, want %d starting %v", len(asc.Conversations), idsOf(asc.Conversations)[:3], defaultPageSize, want)
	}
	desc := h.queryOK(token, map[string]any{"interval": iv, "order": "desc"})
	if first := desc.Conversations[0].ConversationID; first != h.srv.gen.ConversationID(199) || desc.TotalHits != 200 {
		t.Fatalf("desc starts with %s (totalHits %d), want conversation 199 (200)", first, desc.TotalHits)
	}
	res := h.do(http.MethodPost, queryPath, token, map[string]any{"interval": iv, "paging": map[string]int{"pageNumber": 9}})
	if res.status != http.StatusOK || string(res.body) != `{"totalHits":200}` {
		t.Fatalf("page past the end = %d %s, want only totalHits", res.status, res.body)
	}
}

func TestQueryConversationEndFilterFollowsReadiness(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Conversations = 10
		c.Settings = DefaultSettings()
		c.Settings.AbsentFor = time.Minute
		c.Settings.WrapupFor = 2 * time.Minute
	})
	token := h.token()
	g := h.srv.gen
	iv := interval(DefaultBaseTime, DefaultBaseTime.Add(time.Hour))
	query := func(filters ...map[string]any) []AnalyticsConversation {
		t.Helper()
		got := h.queryOK(token, map[string]any{"interval": iv, "conversationFilters": filters})
		if got.TotalHits != len(got.Conversations) {
			t.Fatalf("totalHits %d for %d conversations", got.TotalHits, len(got.Conversations))
		}
		return got.Conversations
	}
	// Conversations 0-2 are emitted first, 3-4 a minute later; until
	// then they are historical and complete, as 5-9 stay throughout.
	for _, step := range []struct {
		name                   string
		advance                time.Duration
		emit                   int
		wantExists, wantNotEnd []int
	}{
		{"0-2 just emitted are absent", 0, 3, []int{3, 4, 5, 6, 7, 8, 9}, nil},
		{"0-2 without conversationEnd, 3-4 absent", time.Minute, 2, []int{5, 6, 7, 8, 9}, []int{0, 1, 2}},
		{"0-2 complete, 3-4 without conversationEnd", 2 * time.Minute, 0, []int{0, 1, 2, 5, 6, 7, 8, 9}, []int{3, 4}},
		{"all complete", time.Minute, 0, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, nil},
	} {
		h.clock.Advance(step.advance)
		if step.emit > 0 {
			h.emit(EmitRequest{Conversations: step.emit})
		}
		for _, tc := range []struct {
			operator string
			want     []int
		}{{"exists", step.wantExists}, {"notExists", step.wantNotEnd}} {
			got := query(clause("and", endPredicate(tc.operator)))
			if ids, want := idsOf(got), conversationIDs(g, tc.want...); !slices.Equal(ids, want) {
				t.Errorf("%s: %s = %v, want %v", step.name, tc.operator, ids, want)
			}
			for _, c := range got {
				if (c.ConversationEnd != "") != (tc.operator == "exists") {
					t.Errorf("%s: %s served %s with conversationEnd %q", step.name, tc.operator, c.ConversationID, c.ConversationEnd)
				}
			}
		}
		visible := len(step.wantExists) + len(step.wantNotEnd)
		if got := query(); len(got) != visible {
			t.Errorf("%s: %d visible without filters, want %d", step.name, len(got), visible)
		}
		if got := query(clause("or", endPredicate("exists"), endPredicate("notExists"))); len(got) != visible {
			t.Errorf("%s: exists or notExists matched %d, want all %d visible", step.name, len(got), visible)
		}
		if got := query(clause("and", endPredicate("exists"), endPredicate("notExists"))); len(got) != 0 {
			t.Errorf("%s: exists and notExists matched %v", step.name, idsOf(got))
		}
	}
}

func TestQueryCombinesConversationIDAndConversationEndPredicates(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Settings = DefaultSettings()
		c.Settings.WrapupFor = time.Minute
	})
	token := h.token()
	g := h.srv.gen
	h.emit(EmitRequest{Conversations: 2}) // 0 and 1 lack conversationEnd for a minute
	iv := interval(DefaultBaseTime, DefaultBaseTime.Add(time.Hour))
	for _, tc := range []struct {
		name    string
		filters []map[string]any
		want    []int
	}{
		{"id and notExists", []map[string]any{clause("and", idPredicate(g.ConversationID(1)), endPredicate("notExists"))}, []int{1}},
		{"id and exists", []map[string]any{clause("and", idPredicate(g.ConversationID(1)), endPredicate("exists"))}, nil},
		{"id or notExists", []map[string]any{clause("or", idPredicate(g.ConversationID(5)), endPredicate("notExists"))}, []int{0, 1, 5}},
		{"clauses are anded", []map[string]any{
			clause("or", idPredicate(g.ConversationID(0)), idPredicate(g.ConversationID(5))),
			clause("or", endPredicate("exists")),
		}, []int{5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := h.queryOK(token, map[string]any{"interval": iv, "conversationFilters": tc.filters})
			if ids, want := idsOf(got.Conversations), conversationIDs(g, tc.want...); !slices.Equal(ids, want) {
				t.Fatalf("got %v, want %v", ids, want)
			}
		})
	}
}

func TestQueryRefusesPredicatesItCannotEvaluate(t *testing.T) {
	h := newHarness(t)
	token := h.token()
	iv := interval(DefaultBaseTime, DefaultBaseTime.Add(time.Hour))
	for name, predicate := range map[string]map[string]any{
		"conversationEnd matches": {"dimension": "conversationEnd", "operator": "matches", "value": "2026-11-27T09:00:00.000Z"},
		"exists with a value":     {"dimension": "conversationEnd", "operator": "exists", "value": "x"},
		"conversationId exists":   {"dimension": "conversationId", "operator": "exists"},
		"conversationId no value": {"dimension": "conversationId", "operator": "matches"},
		"unknown dimension":       {"dimension": "mediaType", "value": "voice"},
	} {
		t.Run(name, func(t *testing.T) {
			body := map[string]any{"interval": iv, "conversationFilters": []map[string]any{clause("or", predicate)}}
			assertGenesysError(t, h.do(http.MethodPost, queryPath, token, body), http.StatusBadRequest, "bad.request")
		})
	}
}

func TestQueryPagingReachesTheEndWithAndWithoutDrift(t *testing.T) {
	const pageSize, matches = 10, 200
	for _, tc := range []struct {
		name      string
		drift     int
		order     string
		wantDrift int // per page, after capping
	}{
		{"no drift", 0, "asc", 0},
		{"drift", 3, "asc", 3},
		{"drift descending", 3, "desc", 3},
		{"drift of a page or more is capped", 50, "asc", pageSize - 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.settings(fmt.Sprintf(`{"queryDriftPerPage": %d}`, tc.drift))
			order := make([]string, matches) // the ids in query order
			for i := range matches {
				order[i] = h.srv.gen.ConversationID(i)
			}
			if tc.order == "desc" {
				slices.Reverse(order)
			}
			pages := h.pageThrough(h.token(), map[string]any{"interval": interval(DefaultBaseTime, DefaultBaseTime.Add(time.Hour)), "order": tc.order}, pageSize)

			var served []string
			next := 0 // position in order just after the previous page
			for k, page := range pages {
				ids := idsOf(page.Conversations)
				if want := matches + k*tc.wantDrift; page.TotalHits != want {
					t.Fatalf("page %d: totalHits %d, want %d", k+1, page.TotalHits, want)
				}
				if len(ids) > 0 {
					start := slices.Index(order, ids[0])
					if start > next || !slices.Equal(ids, order[start:start+len(ids)]) {
						t.Fatalf("page %d starts at position %d after page %d ended before %d: skipped or out of order", k+1, start, k, next)
					}
					next = start + len(ids)
					served = append(served, ids...)
				}
				// A client may also stop when pageNumber*pageSize reaches
				// totalHits: that must be exactly when it has seen the end.
				if atEnd, saysEnd := next == matches, (k+1)*pageSize >= page.TotalHits; atEnd != saysEnd {
					t.Fatalf("page %d: seen the end %v, but pageNumber*pageSize >= totalHits says %v", k+1, atEnd, saysEnd)
				}
			}
			distinct := slices.Clone(served)
			slices.Sort(distinct)
			distinct = slices.Compact(distinct)
			if len(distinct) != matches {
				t.Fatalf("union of pages has %d ids, want %d", len(distinct), matches)
			}
			if repeats, want := len(served)-len(distinct), (len(pages)-1)*tc.wantDrift; repeats != want {
				t.Fatalf("%d ids served twice, want %d", repeats, want)
			}
		})
	}
}

func TestQueryPagingDepthFollowsQueryResultLimit(t *testing.T) {
	h := newHarness(t)
	token := h.token()
	iv := interval(DefaultBaseTime, DefaultBaseTime.Add(time.Hour))
	for _, tc := range []struct {
		name                 string
		limit                int
		pageSize, pageNumber int
		allowed              bool
	}{
		{"default limit, last page", 100_000, 100, 1000, true},
		{"default limit, one page deeper", 100_000, 100, 1001, false},
		{"lowered limit, last page", 50, 10, 5, true},
		{"lowered limit, one page deeper", 50, 10, 6, false},
		{"lowered limit, first page larger than it", 50, 100, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h.settings(fmt.Sprintf(`{"queryResultLimit": %d}`, tc.limit))
			res := h.do(http.MethodPost, queryPath, token, map[string]any{
				"interval": iv, "paging": map[string]int{"pageSize": tc.pageSize, "pageNumber": tc.pageNumber},
			})
			if tc.allowed {
				if res.status != http.StatusOK {
					t.Fatalf("%d %s", res.status, res.body)
				}
				return
			}
			body := assertGenesysError(t, res, http.StatusBadRequest, "bad.request")
			if want := fmt.Sprintf("Pagination may not exceed %d results", tc.limit); body["message"] != want {
				t.Fatalf("message %q, want %q", body["message"], want)
			}
		})
	}
}

func TestSettingsValidateTheQueryKnobs(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		patch, wantError string
	}{
		{`{"queryResultLimit": 0}`, "queryResultLimit must be at least 1, got 0"},
		{`{"queryDriftPerPage": -1}`, "queryDriftPerPage must be between 0 and 99, got -1"},
		{`{"queryDriftPerPage": 100}`, "queryDriftPerPage must be between 0 and 99, got 100"},
	} {
		res := h.do(http.MethodPost, "/sim/settings", "", tc.patch)
		var e controlError
		res.json(t, &e)
		if res.status != http.StatusBadRequest || e.Error != tc.wantError {
			t.Errorf("%s: %d %q, want 400 %q", tc.patch, res.status, e.Error, tc.wantError)
		}
	}
	var got settingsJSON
	h.do(http.MethodGet, "/sim/settings", "", nil).json(t, &got)
	if got.QueryResultLimit != 100_000 || got.QueryDriftPerPage != 0 {
		t.Fatalf("defaults: queryResultLimit %d, queryDriftPerPage %d", got.QueryResultLimit, got.QueryDriftPerPage)
	}
	h.settings(`{"queryResultLimit": 500, "queryDriftPerPage": 99}`)
	h.do(http.MethodGet, "/sim/settings", "", nil).json(t, &got)
	if got.QueryResultLimit != 500 || got.QueryDriftPerPage != 99 {
		t.Fatalf("after update: queryResultLimit %d, queryDriftPerPage %d", got.QueryResultLimit, got.QueryDriftPerPage)
	}
}

func TestSpacingSetsEachConversationsStartSlot(t *testing.T) {
	for _, tc := range []struct {
		name    string
		spacing time.Duration // Config.Spacing
		slot    time.Duration
	}{
		{"default", 0, ConversationSpacing},
		{"ten days for 20,000", 43200 * time.Millisecond, 43200 * time.Millisecond},
		{"one millisecond", time.Millisecond, time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.Spacing = tc.spacing; c.Conversations = 50 })
			var prev int64
			for i := range 50 {
				start := parseMs(h.srv.gen.Generate(i).Record.ConversationStart)
				lo := DefaultBaseTime.Add(time.Duration(i) * tc.slot).UnixMilli()
				if start < lo || start >= lo+tc.slot.Milliseconds() || (i > 0 && start <= prev) {
					t.Fatalf("conversation %d starts at %d, outside its slot from %d or not after its predecessor", i, start, lo)
				}
				prev = start
			}
			if tc.spacing == 0 && !bytes.Equal(mustMarshal(h.srv.gen.Generate(7)), mustMarshal(Generate(testSeed, 7))) {
				t.Fatal("the default spacing differs from Generate's")
			}
		})
	}
	last := newGenerator(testSeed, DefaultBaseTime, 43200*time.Millisecond).startMs(19_999)
	if end := DefaultBaseTime.Add(10 * day).UnixMilli(); last >= end || last < end-43_200 {
		t.Fatalf("conversation 19,999 starts at %d, want within the last slot before %d", last, end)
	}
}

func TestNewRejectsSpacingThatIsNotWholePositiveMilliseconds(t *testing.T) {
	for _, spacing := range []time.Duration{-time.Second, time.Microsecond, 1500 * time.Microsecond} {
		_, err := New(Config{ClientID: testID, ClientSecret: testSecret, Spacing: spacing})
		if err == nil || !strings.Contains(err.Error(), "spacing must be a positive whole number of milliseconds") {
			t.Errorf("spacing %s: err = %v", spacing, err)
		}
	}
}

// BenchmarkQueryPage pages through a week of a ten-day pool of 20,000
// conversations, 100 at a time.
func BenchmarkQueryPage(b *testing.B) {
	settings := DefaultSettings()
	settings.RateLimitPerMinute = 1 << 30
	srv, err := New(Config{Seed: 1, Conversations: 20_000, Spacing: 43200 * time.Millisecond,
		ClientID: "id", ClientSecret: "secret", Settings: settings})
	if err != nil {
		b.Fatal(err)
	}
	token := srv.tokens.issue(time.Now(), time.Hour)
	iv := interval(DefaultBaseTime, DefaultBaseTime.Add(7*day))
	for _, bc := range []struct {
		name    string
		filters []map[string]any
	}{
		{"unfiltered", nil},
		{"conversationEnd exists", []map[string]any{clause("and", endPredicate("exists"))}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			bodies := make([][]byte, 0, 140)
			for n := 1; n <= cap(bodies); n++ {
				bodies = append(bodies, mustMarshal(map[string]any{"interval": iv, "conversationFilters": bc.filters,
					"paging": map[string]int{"pageSize": 100, "pageNumber": n}}))
			}
			w := &discardWriter{h: http.Header{}}
			pages := 0
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, queryPath, bytes.NewReader(bodies[pages%len(bodies)]))
				req.Header.Set("Authorization", "Bearer "+token)
				clear(w.h)
				w.n = 0
				srv.ServeHTTP(w, req)
				if w.n < 100*1000 {
					b.Fatalf("page %d: response too small: %d bytes", pages%len(bodies)+1, w.n)
				}
				pages++
			}
		})
	}
}

func TestHistoryIsNeverEmitted(t *testing.T) {
	s, err := New(Config{Seed: 3, Conversations: 50, History: 40, ClientID: "id", ClientSecret: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Emit(EmitRequest{Conversations: 20})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.ConversationIDs) != 20 || res.ConversationIDs[0] != s.gen.ConversationID(40) {
		t.Errorf("emitted %d conversations starting with %s, want 20 starting with the first after the history, %s",
			len(res.ConversationIDs), res.ConversationIDs[0], s.gen.ConversationID(40))
	}
	_, err = New(Config{Seed: 3, Conversations: 10, History: 11, ClientID: "id", ClientSecret: "secret"})
	if err == nil || !strings.Contains(err.Error(), "history must be between 0 and conversations (10), got 11") {
		t.Errorf("history beyond the pool: %v", err)
	}
}
