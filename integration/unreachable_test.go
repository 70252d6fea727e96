package integration

import (
	"context"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genesys-ingest/genesys-ingest/devstack"
	"github.com/genesys-ingest/genesys-ingest/internal/fixtures"
	"github.com/genesys-ingest/genesys-ingest/starter/intake"
)

// TestUnreachableTemporalGivesBatchItemFailuresInTime points a forwarder
// bootstrap under the Lambda emulator at a Temporal that is not there (a
// port nothing listens on) and at one that does not answer (a listener that
// accepts connections and never says a word). Each invocation must hand
// every valid record back to SQS, acknowledge the poison, and return within
// FORWARDER_START_TIMEOUT, or, where the function's timeout is the shorter,
// before that.
func TestUnreachableTemporalGivesBatchItemFailuresInTime(t *testing.T) {
	payload := fixtures.Read(t, "events/sqs-batch.json")
	delivery, err := intake.Parse(payload)
	require.NoError(t, err)
	require.NotEmpty(t, delivery.Accepted)
	require.NotEmpty(t, delivery.Rejected, "the fixture carries poison, which must not come back")
	var want []events.SQSBatchItemFailure
	for _, id := range delivery.Accepted {
		want = append(want, events.SQSBatchItemFailure{ItemIdentifier: id})
	}
	refused, silent := refusingAddress(t), silentAddress(t)

	for _, tc := range []struct {
		name            string
		temporalAddress string
		functionTimeout time.Duration
		startTimeout    time.Duration
		// within bounds an invocation, cold start included.
		within time.Duration
	}{
		{"refused", refused, 30 * time.Second, 3 * time.Second, 8 * time.Second},
		{"silent", silent, 30 * time.Second, 3 * time.Second, 8 * time.Second},
		// The function's deadline, less the forwarder's 2 s margin, comes
		// before FORWARDER_START_TIMEOUT.
		{"silent-short-function-timeout", silent, 6 * time.Second, time.Minute, 5500 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			fwd, err := stack.StartForwarder(ctx, "lambda-unreachable-"+tc.name, []string{
				"TEMPORAL_ADDRESS=" + tc.temporalAddress,
				"AWS_LAMBDA_FUNCTION_TIMEOUT=" + strconv.Itoa(int(tc.functionTimeout.Seconds())),
				"FORWARDER_START_TIMEOUT=" + tc.startTimeout.String(),
			})
			require.NoError(t, err)
			t.Cleanup(fwd.Stop)

			// The second invocation reuses the warm process and its lazy
			// client, which has by then failed once.
			for _, invocation := range []string{"cold", "warm"} {
				began := time.Now()
				resp, err := devstack.InvokeForwarder(ctx, fwd.Endpoints, payload)
				took := time.Since(began)
				require.NoError(t, err, invocation)
				assert.Equal(t, want, resp.BatchItemFailures, "%s: every valid record, and only those, is handed back", invocation)
				assert.Less(t, took, tc.within, "%s: returned in time", invocation)
				assert.Less(t, took, tc.functionTimeout, "%s: returned before the function's timeout", invocation)
			}
		})
	}
}

// refusingAddress is a loopback port nothing listens on: a stopped Temporal.
func refusingAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// silentAddress accepts connections and never answers: a Temporal behind a
// black-holing load balancer, or a hung one.
func silentAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return // closed by the cleanup
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return l.Addr().String()
}
