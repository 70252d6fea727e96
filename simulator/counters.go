package simulator

import "sync/atomic"

// endpoint identifies a route in Counters.ByEndpoint.
type endpoint int

const (
	epToken endpoint = iota
	epConversation
	epMultiGet
	epQuery
	epOtherAPI
	endpointCount
)

var endpointNames = [endpointCount]string{
	epToken:        "POST /oauth/token",
	epConversation: "GET /api/v2/analytics/conversations/{id}/details",
	epMultiGet:     "GET /api/v2/analytics/conversations/details",
	epQuery:        "POST /api/v2/analytics/conversations/details/query",
	epOtherAPI:     "other /api",
}

// counters are lock-free so that counting never serialises the ~50
// concurrent clients the server is built for.
type counters struct {
	requests, tokenRequests, rateLimited, tokenThrottled, unauthorized atomic.Int64
	idsRequested, idsServed, notFound                                  atomic.Int64
	emitted, eventsEmitted                                             atomic.Int64
	faults                                                             [faultKinds]atomic.Int64
	byEndpoint                                                         [endpointCount]atomic.Int64
}

// Counters is the snapshot served by GET /sim/counters.
type Counters struct {
	Requests       int64            `json:"requests"`       // every /api request, whatever its outcome
	TokenRequests  int64            `json:"tokenRequests"`  // POST /oauth/token
	RateLimited    int64            `json:"rateLimited"`    // 429s
	TokenThrottled int64            `json:"tokenThrottled"` // token requests refused with 400
	Unauthorized   int64            `json:"unauthorized"`   // 401s on /api
	IDsRequested   int64            `json:"idsRequested"`   // ids named in single and multi gets
	IDsServed      int64            `json:"idsServed"`      // conversations returned by them
	NotFound       int64            `json:"notFound"`       // ids unknown or not yet visible
	FaultsInjected int64            `json:"faultsInjected"` // sum of Faults
	Faults         map[string]int64 `json:"faults"`
	ByEndpoint     map[string]int64 `json:"byEndpoint"`
	Emitted        int64            `json:"emitted"`       // conversations handed out by /sim/emit
	EventsEmitted  int64            `json:"eventsEmitted"` // events in those deliveries (poison excluded)
}

func (c *counters) snapshot() Counters {
	out := Counters{
		Requests: c.requests.Load(), TokenRequests: c.tokenRequests.Load(), RateLimited: c.rateLimited.Load(),
		TokenThrottled: c.tokenThrottled.Load(), Unauthorized: c.unauthorized.Load(),
		IDsRequested: c.idsRequested.Load(), IDsServed: c.idsServed.Load(), NotFound: c.notFound.Load(),
		Emitted: c.emitted.Load(), EventsEmitted: c.eventsEmitted.Load(),
		Faults: map[string]int64{}, ByEndpoint: map[string]int64{},
	}
	for k := range c.faults {
		n := c.faults[k].Load()
		out.Faults[faultNames[k]] = n
		out.FaultsInjected += n
	}
	for i, name := range endpointNames {
		out.ByEndpoint[name] = c.byEndpoint[i].Load()
	}
	return out
}

func (c *counters) reset() {
	for _, v := range []*atomic.Int64{
		&c.requests, &c.tokenRequests, &c.rateLimited, &c.tokenThrottled, &c.unauthorized,
		&c.idsRequested, &c.idsServed, &c.notFound, &c.emitted, &c.eventsEmitted,
	} {
		v.Store(0)
	}
	for k := range c.faults {
		c.faults[k].Store(0)
	}
	for i := range c.byEndpoint {
		c.byEndpoint[i].Store(0)
	}
}
