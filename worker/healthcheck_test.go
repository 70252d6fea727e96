package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/genesys-ingest/genesys-ingest/config"
)

// serveHealth serves /healthz and /readyz as the test sets them.
func serveHealth(t *testing.T, healthz, readyz http.HandlerFunc) config.Lookup {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/healthz", healthz)
	mux.Handle("/readyz", readyz)
	server := httptest.NewServer(mux)
	t.Cleanup(server.Close)
	_, port, _ := net.SplitHostPort(server.Listener.Addr().String())
	// As the worker listens by default: every interface, this port.
	return metricsAddress(":" + port)
}

func metricsAddress(addr string) config.Lookup {
	return func(name string) (string, bool) {
		if name == "METRICS_ADDRESS" {
			return addr, true
		}
		return "", false
	}
}

func answer(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(status)
		fmt.Fprintln(w, body)
	}
}

func runHealthcheck(env config.Lookup, args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := healthcheck(args, env, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestHealthcheckExitsZeroWhenHealthy(t *testing.T) {
	env := serveHealth(t, answer(http.StatusOK, "ok"), answer(http.StatusServiceUnavailable, `{"ready":false}`))
	code, stdout, stderr := runHealthcheck(env)
	assert.Equal(t, 0, code)
	assert.Regexp(t, `^healthy: GET http://127\.0\.0\.1:\d+/healthz: ok\n$`, stdout)
	assert.Empty(t, stderr)
}

func TestHealthcheckSaysWhyItIsUnhealthy(t *testing.T) {
	env := serveHealth(t, answer(http.StatusServiceUnavailable, "unhealthy: Temporal has not answered for 1m5s"), answer(http.StatusOK, "{}"))
	code, stdout, stderr := runHealthcheck(env)
	assert.Equal(t, 1, code)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "/healthz: 503 Service Unavailable: unhealthy: Temporal has not answered for 1m5s")
}

func TestHealthcheckReadyAsksReadyz(t *testing.T) {
	report := `{"ready":false,"checks":[{"name":"temporal","ok":true},{"name":"dynamodb","ok":false,"error":"AccessDeniedException"}]}`
	env := serveHealth(t, answer(http.StatusOK, "ok"), answer(http.StatusServiceUnavailable, report))
	code, _, stderr := runHealthcheck(env, "--ready")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "/readyz: 503 Service Unavailable: "+report)

	env = serveHealth(t, answer(http.StatusServiceUnavailable, "unhealthy"), answer(http.StatusOK, `{"ready":true}`))
	code, stdout, _ := runHealthcheck(env, "-ready")
	assert.Equal(t, 0, code)
	assert.Contains(t, stdout, `/readyz: {"ready":true}`)
}

func TestHealthcheckFailsWhenNothingListens(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := listener.Addr().String()
	_ = listener.Close()
	code, _, stderr := runHealthcheck(metricsAddress(addr))
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `unhealthy: Get "http://`+addr+`/healthz":`)
	assert.Contains(t, stderr, "connection refused")
}

func TestHealthcheckGivesUpWithinThreeSeconds(t *testing.T) {
	env := serveHealth(t, func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }, answer(http.StatusOK, "{}"))
	start := time.Now()
	code, _, stderr := runHealthcheck(env)
	assert.Equal(t, 1, code)
	assert.Less(t, time.Since(start), 3*time.Second)
	assert.Contains(t, stderr, "context deadline exceeded")
}

func TestHealthcheckRefusesBadUsage(t *testing.T) {
	code, _, stderr := runHealthcheck(metricsAddress("9464"))
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `METRICS_ADDRESS="9464"`)

	code, _, stderr = runHealthcheck(metricsAddress(":9464"), "--verbose")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "usage: worker healthcheck [--ready]")
}
