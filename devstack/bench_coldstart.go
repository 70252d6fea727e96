package devstack

// The benchmark's Lambda cold start: ColdStart, and lambdaColdStarts and
// firstAnswer, which time the forwarder bootstrap under the emulator from
// process start to its first answered invocation.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ColdStart is the forwarder bootstrap's start under the emulator, process
// start to the first answered invocation, with Temporal unreachable.
type ColdStart struct {
	SamplesMs []float64 `json:"samplesMs"`
	MedianMs  float64   `json:"medianMs"`
}

// lambdaColdStarts starts the forwarder bootstrap under the emulator n
// times, each on fresh ports with TEMPORAL_ADDRESS pointing at a closed
// port, and times process start to the first 200 answer to an invocation
// that carries no conversations (so Temporal is never dialled).
func lambdaColdStarts(ctx context.Context, p Paths, n int) (ColdStart, error) {
	var cs ColdStart
	for _, bin := range []string{p.LambdaRIE(), filepath.Join(p.Bin, "bootstrap")} {
		if _, err := os.Stat(bin); err != nil {
			return cs, fmt.Errorf("devstack: %s is missing (make tools && make build)", bin)
		}
	}
	if err := os.MkdirAll(p.Run, 0o755); err != nil {
		return cs, err
	}
	httpClient := &http.Client{Timeout: 30 * time.Second}
	for range n {
		var ports [4]int
		for i := range ports {
			port, err := freePort()
			if err != nil {
				return cs, err
			}
			ports[i] = port
		}
		addr := func(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }
		// Nothing listens on ports[2] and ports[3]: Temporal and DynamoDB are unreachable.
		fake := &Stack{opts: Options{Paths: p}, Endpoints: Endpoints{
			TemporalAddress: addr(ports[2]), DynamoDB: "http://" + addr(ports[3]),
		}}
		env := slices.Concat(fake.serviceEnv(), []string{"AWS_LAMBDA_FUNCTION_TIMEOUT=60", "AWS_LAMBDA_FUNCTION_NAME=genesys-ingest-forwarder"})
		url := "http://" + addr(ports[0]) + "/2015-03-31/functions/function/invocations"

		started := time.Now()
		proc, err := spawn(p, "lambda-coldstart", false, env, p.LambdaRIE(),
			"--runtime-interface-emulator-address", addr(ports[0]),
			"--runtime-api-address", addr(ports[1]), filepath.Join(p.Bin, "bootstrap"))
		if err != nil {
			return cs, fmt.Errorf("devstack: %w", err)
		}
		took, err := firstAnswer(ctx, httpClient, url, proc, started)
		proc.stop(5 * time.Second)
		if err != nil {
			return cs, err
		}
		cs.SamplesMs = append(cs.SamplesMs, round3(float64(took.Microseconds())/1000))
	}
	sorted := slices.Clone(cs.SamplesMs)
	slices.Sort(sorted)
	if len(sorted) > 0 {
		if len(sorted)%2 == 1 {
			cs.MedianMs = sorted[len(sorted)/2]
		} else {
			cs.MedianMs = round3((sorted[len(sorted)/2-1] + sorted[len(sorted)/2]) / 2)
		}
	}
	return cs, nil
}

// firstAnswer invokes the emulator until it answers 200, and returns the
// time since started.
func firstAnswer(ctx context.Context, c *http.Client, url string, proc *process, started time.Time) (time.Duration, error) {
	deadline := started.Add(30 * time.Second)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(`{"Records":[]}`))
		if err != nil {
			return 0, err
		}
		resp, err := c.Do(req)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			took := time.Since(started)
			if resp.StatusCode == http.StatusOK && resp.Header.Get("X-Amz-Function-Error") == "" {
				return took, nil
			}
			return 0, fmt.Errorf("devstack: cold start: the forwarder answered %s: %s; end of %s:\n%s",
				resp.Status, bytes.TrimSpace(body), proc.logPath, tail(proc.logPath, 15))
		}
		if !errors.Is(err, syscall.ECONNREFUSED) || time.Now().After(deadline) {
			return 0, fmt.Errorf("devstack: cold start: invoke: %w; end of %s:\n%s", err, proc.logPath, tail(proc.logPath, 15))
		}
		select {
		case <-proc.exited:
			return 0, fmt.Errorf("devstack: cold start: the emulator exited; end of %s:\n%s", proc.logPath, tail(proc.logPath, 15))
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}
