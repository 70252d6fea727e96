package simulator

import (
	"bytes"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// fault is one kind of injected misbehaviour.
type fault int

const (
	faultNone fault = iota - 1
	faultError5xx
	faultTimeout504
	faultReset
	faultMalformed
	faultHTMLError
	faultRateLimitStorm
	faultSlow
	// The ones below are not drawn per request: an outage or a revoked
	// permission lasts until switched off, forced 401s are counted down and
	// poisoned conversations are bad for good.
	faultOutage
	faultPermissionRevoked
	faultForcedUnauthorized
	faultPoisonBadRequest
	faultPoisonBrokenRecord
	faultKinds
)

var faultNames = [faultKinds]string{
	faultError5xx:           "error5xx",
	faultTimeout504:         "timeout504",
	faultReset:              "reset",
	faultMalformed:          "malformed",
	faultHTMLError:          "htmlError",
	faultRateLimitStorm:     "rateLimitStorm",
	faultSlow:               "slow",
	faultOutage:             "outage",
	faultPermissionRevoked:  "permissionRevoked",
	faultForcedUnauthorized: "forcedUnauthorized",
	faultPoisonBadRequest:   "poisonBadRequest",
	faultPoisonBrokenRecord: "poisonBrokenRecord",
}

// faultInjector draws faults from a seeded generator, so a run with the same
// seed and the same request order sees the same faults.
type faultInjector struct {
	mu sync.Mutex
	r  *rand.Rand
}

// faultPlan is what happens to one request: an optional delay, then at most
// one outcome fault.
type faultPlan struct {
	slow    time.Duration
	outcome fault
	// retryAfter is what a rate-limit storm's 429 asks for.
	retryAfter time.Duration
}

func (f *faultInjector) plan(st *Settings) faultPlan {
	p := faultPlan{outcome: faultNone}
	// Draw nothing while faults are off, so switching them on starts the
	// same sequence whatever traffic came before.
	if st.SlowRate == 0 && st.outcomeRateSum() == 0 {
		return p
	}
	f.mu.Lock()
	slow, u := f.r.Float64(), f.r.Float64()
	f.mu.Unlock()
	if slow < st.SlowRate {
		p.slow = st.SlowDelay
	}
	p.retryAfter = st.StormRetryAfter
	// The outcome faults partition [0, 1) so their rates are exact.
	for _, c := range []struct {
		kind fault
		rate float64
	}{
		{faultError5xx, st.Error5xxRate}, {faultTimeout504, st.Timeout504Rate}, {faultReset, st.ResetRate},
		{faultMalformed, st.MalformedRate}, {faultHTMLError, st.HTMLErrorRate}, {faultRateLimitStorm, st.RateLimitStormRate},
	} {
		if u < c.rate {
			p.outcome = c.kind
			break
		}
		u -= c.rate
	}
	return p
}

// serveWithFaults runs next under plan.
func (s *Server) serveWithFaults(w http.ResponseWriter, r *http.Request, plan faultPlan, next http.HandlerFunc) {
	if plan.slow > 0 {
		s.counters.faults[faultSlow].Add(1)
		t := time.NewTimer(plan.slow)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if plan.outcome != faultNone {
		s.counters.faults[plan.outcome].Add(1)
	}
	switch plan.outcome {
	case faultError5xx:
		writeAPIError(w, http.StatusServiceUnavailable, "service.unavailable", "The service is currently unavailable. Please try again later.")
	case faultTimeout504:
		writeAPIError(w, http.StatusGatewayTimeout, "request.timeout", "The request timed out.")
	case faultReset:
		resetConnection(w)
	case faultHTMLError:
		writeHTMLError(w)
	case faultRateLimitStorm:
		s.counters.rateLimited.Add(1)
		writeTooManyRequests(w, ceilSeconds(plan.retryAfter))
	case faultMalformed:
		// Serve the real answer cut in half: valid headers, status 200 and
		// a body that stops mid-document, as a dropped proxy stream does.
		c := &captureWriter{header: http.Header{}}
		next(c, r)
		body := c.body.Bytes()
		writeJSONBytes(w, http.StatusOK, body[:max(1, len(body)/2)])
	default:
		next(w, r)
	}
}

// htmlErrorPage is what a load balancer in front of the API serves when its
// upstream fails: not JSON, not the Genesys error shape.
const htmlErrorPage = `<html>
<head><title>502 Bad Gateway</title></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>nginx</center>
</body>
</html>
`

func writeHTMLError(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html")
	h.Set("Content-Length", strconv.Itoa(len(htmlErrorPage)))
	w.WriteHeader(http.StatusBadGateway)
	_, _ = w.Write([]byte(htmlErrorPage))
}

// resetConnection drops the connection without a response. Linger 0 makes
// the kernel send RST, so clients see "connection reset by peer".
func resetConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // not hijackable (HTTP/2, recorder): abort instead
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}

// captureWriter buffers a handler's response so it can be mangled.
type captureWriter struct {
	header http.Header
	body   bytes.Buffer
}

func (c *captureWriter) Header() http.Header         { return c.header }
func (c *captureWriter) WriteHeader(int)             {}
func (c *captureWriter) Write(b []byte) (int, error) { return c.body.Write(b) }
