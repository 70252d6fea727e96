package devstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/genesys-ingest/genesys-ingest/starter/forwarder"
)

// Ports of the stack's services.
type Ports struct {
	TemporalGRPC    int `json:"temporalGrpc"`
	TemporalUI      int `json:"temporalUi"`
	TemporalHTTP    int `json:"temporalHttp"`
	TemporalMetrics int `json:"temporalMetrics"`
	Dynalite        int `json:"dynalite"`
	S3              int `json:"s3"`
	Simulator       int `json:"simulator"`
	WorkerMetrics   int `json:"workerMetrics"`
	Lambda          int `json:"lambda"`
	// LambdaRuntimeAPI is the emulator's internal Runtime API, which the
	// bootstrap polls for invocations.
	LambdaRuntimeAPI int `json:"lambdaRuntimeApi"`
}

// DefaultPorts are the well-known ports of `make up`.
func DefaultPorts() Ports {
	return Ports{TemporalGRPC: 7233, TemporalUI: 8233, TemporalHTTP: 7243, TemporalMetrics: 7244,
		Dynalite: 8000, S3: 8002, Simulator: 8081, WorkerMetrics: 9464, Lambda: 9000, LambdaRuntimeAPI: 9001}
}

// FreePorts picks free loopback ports, so tests never collide with a running
// `make up` or with each other.
func FreePorts() (Ports, error) {
	var ports Ports
	for _, p := range []*int{&ports.TemporalGRPC, &ports.TemporalUI, &ports.TemporalHTTP, &ports.TemporalMetrics,
		&ports.Dynalite, &ports.S3, &ports.Simulator, &ports.WorkerMetrics, &ports.Lambda, &ports.LambdaRuntimeAPI} {
		port, err := freePort()
		if err != nil {
			return Ports{}, err
		}
		*p = port
	}
	return ports, nil
}

// Search attributes registered on the dev server; the forwarder sets them.
var searchAttributes = []string{
	forwarder.OrgIDSearchAttribute.GetName() + "=Keyword",
	forwarder.ConversationCountSearchAttribute.GetName() + "=Int",
}

// temporalDynamicConfig gives every task queue of the dev server one
// partition instead of four. The server splits a queue's rate limit
// (TaskQueueActivitiesPerSecond) evenly over its partitions and each
// partition dispatches only its own backlog, so with the few fetches the
// scheduler keeps in flight some partitions sit empty: measured on this
// machine, a 4.5/s limit delivered 3.6 to 4.1/s with four partitions and
// 4.5/s with one. Partitions spread load over matching hosts; a dev server
// has one host and the Genesys queue carries a handful of tasks a second.
//
// matching.useNewMatcher turns on Task Queue Priority in Server 1.29: the
// backfill's fetches carry priority key 5 and live ones the default 3, and
// only the new matcher dispatches a rate-limited queue's backlog in
// priority order (with the old one, measured, 20 low-priority tasks queued
// first all ran before 5 high-priority ones; with it, the 5 ran next).
var temporalDynamicConfig = []string{
	"matching.numTaskqueueReadPartitions=1",
	"matching.numTaskqueueWritePartitions=1",
	"matching.useNewMatcher=true",
}

// Simulator credentials: not secrets, the simulator accepts only these.
const (
	simulatorClientID     = "sim-client"
	simulatorClientSecret = "sim-secret"
)

// Options configure a stack.
type Options struct {
	Paths Paths
	Ports Ports
	// Detached services outlive this process and keep their state in
	// .local/data (make up); attached ones are in-memory and end with it.
	Detached bool
	// DataDir keeps Temporal's and dynalite's state of an attached stack
	// on disk, so that they can be stopped and started again (chaos).
	DataDir string
	// SimulatorArgs are extra genesys-simulator flags.
	SimulatorArgs []string
	// Env is applied last to the worker and the forwarder (KEY=VALUE).
	Env []string
	// Hermetic stacks (tests, the bench, chaos, the replay corpus) take none
	// of the caller's project settings (FETCH_*, GENESYS_*, READY_*,
	// DYNAMODB_*, ...): what they measure or assert must not depend on the
	// shell they run in. Only Env sets them. make up and make demo pass the
	// caller's through, so that a user can point them at a real Genesys.
	Hermetic bool
	// Log receives progress lines.
	Log io.Writer
}

// Endpoints say where the services listen.
type Endpoints struct {
	TemporalAddress string `json:"temporalAddress"`
	WebUI           string `json:"webUi"`
	DynamoDB        string `json:"dynamodb"`
	// S3 serves the detail bucket (localDetailBucket).
	S3 string `json:"s3"`
	// Simulator is empty when GENESYS_API_BASE_URL points at a real Genesys.
	Simulator     string `json:"simulator,omitempty"`
	GenesysAPI    string `json:"genesysApi"`
	WorkerMetrics string `json:"workerMetrics"`
	Lambda        string `json:"lambda"`
}

// LambdaInvokeURL is where the emulator takes invocations.
func (e Endpoints) LambdaInvokeURL() string {
	return e.Lambda + "/2015-03-31/functions/function/invocations"
}

// WorkflowsURL lists the ingestion workflows in the Web UI.
func (e Endpoints) WorkflowsURL() string {
	return e.WebUI + "/namespaces/default/workflows"
}

// Stack is a running local stack.
type Stack struct {
	Endpoints Endpoints
	opts      Options
	procs     []*process
}

// Start starts every service, waits until each is healthy and returns. If
// GENESYS_API_BASE_URL is set, the worker talks to that Genesys and no
// simulator is started. On error, whatever was started is stopped.
func Start(ctx context.Context, opts Options) (_ *Stack, err error) {
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	s := &Stack{opts: opts}
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()
	p, ports := opts.Paths, opts.Ports
	addr := func(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }
	for _, port := range []int{ports.TemporalGRPC, ports.TemporalUI, ports.Dynalite, ports.S3, ports.Simulator, ports.WorkerMetrics, ports.Lambda, ports.LambdaRuntimeAPI} {
		if err := portFree(addr(port)); err != nil {
			return nil, fmt.Errorf("devstack: %w", err)
		}
	}
	s.Endpoints = Endpoints{
		TemporalAddress: addr(ports.TemporalGRPC),
		WebUI:           "http://" + addr(ports.TemporalUI),
		DynamoDB:        "http://" + addr(ports.Dynalite),
		S3:              "http://" + addr(ports.S3),
		WorkerMetrics:   "http://" + addr(ports.WorkerMetrics),
		Lambda:          "http://" + addr(ports.Lambda),
	}
	if err := os.MkdirAll(p.Data, 0o755); err != nil {
		return nil, err
	}

	temporalArgs := []string{"server", "start-dev", "--ip", "127.0.0.1",
		"--port", strconv.Itoa(ports.TemporalGRPC), "--ui-port", strconv.Itoa(ports.TemporalUI),
		"--http-port", strconv.Itoa(ports.TemporalHTTP), "--metrics-port", strconv.Itoa(ports.TemporalMetrics),
		"--log-level", "warn"}
	for _, sa := range searchAttributes {
		temporalArgs = append(temporalArgs, "--search-attribute", sa)
	}
	for _, dc := range temporalDynamicConfig {
		temporalArgs = append(temporalArgs, "--dynamic-config-value", dc)
	}
	dynaliteArgs := []string{"--host", "127.0.0.1", "--port", strconv.Itoa(ports.Dynalite)}
	dataDir := opts.DataDir
	if opts.Detached {
		dataDir = p.Data
	}
	if dataDir != "" {
		if err := os.MkdirAll(dataDir, 0o755); err != nil {
			return nil, err
		}
		temporalArgs = append(temporalArgs, "--db-filename", filepath.Join(dataDir, "temporal.db"))
		dynaliteArgs = append(dynaliteArgs, "--path", filepath.Join(dataDir, "dynalite"))
	}
	if err := s.start(ctx, "temporal", nil, p.Temporal(), temporalArgs, 90*time.Second, s.temporalCheck()); err != nil {
		return nil, err
	}
	if err := s.start(ctx, "dynalite", nil, p.Dynalite(), dynaliteArgs, 30*time.Second, tcpCheck(addr(ports.Dynalite))); err != nil {
		return nil, err
	}
	if err := s.startS3(ctx, addr(ports.S3), dataDir); err != nil {
		return nil, err
	}

	if base := os.Getenv("GENESYS_API_BASE_URL"); base != "" && !opts.Hermetic {
		s.Endpoints.GenesysAPI = base
		fmt.Fprintf(opts.Log, "using the Genesys Cloud at %s (GENESYS_API_BASE_URL); no simulator\n", base)
	} else {
		s.Endpoints.Simulator = "http://" + addr(ports.Simulator)
		s.Endpoints.GenesysAPI = s.Endpoints.Simulator
		simArgs := append([]string{"--listen", addr(ports.Simulator),
			"--client-id", simulatorClientID, "--client-secret", simulatorClientSecret}, opts.SimulatorArgs...)
		if err := s.start(ctx, "simulator", nil, filepath.Join(p.Bin, "genesys-simulator"), simArgs, 30*time.Second,
			httpCheck(s.Endpoints.Simulator+"/healthz")); err != nil {
			return nil, err
		}
	}

	env := s.serviceEnv()
	workerEnv := slices.Concat(env, []string{"METRICS_ADDRESS=" + addr(ports.WorkerMetrics)})
	if err := s.start(ctx, "worker", workerEnv, filepath.Join(p.Bin, "worker"), []string{"--create-table"}, 60*time.Second,
		httpCheck(s.Endpoints.WorkerMetrics+"/healthz")); err != nil {
		return nil, err
	}
	if err := s.start(ctx, "lambda", slices.Concat(env, lambdaEnv), p.LambdaRIE(),
		lambdaArgs(p, addr(ports.Lambda), addr(ports.LambdaRuntimeAPI)),
		30*time.Second, tcpCheck(addr(ports.Lambda))); err != nil {
		return nil, err
	}

	if opts.Detached {
		state, _ := json.MarshalIndent(s.Endpoints, "", "  ")
		if err := os.WriteFile(filepath.Join(p.Run, "endpoints.json"), state, 0o644); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *Stack) start(ctx context.Context, name string, env []string, bin string, args []string, timeout time.Duration, check func(context.Context) error) error {
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("devstack: %s: %s is missing (make tools && make build install and build everything)", name, bin)
	}
	if env == nil {
		env = os.Environ()
	}
	started := time.Now()
	proc, err := spawn(s.opts.Paths, name, s.opts.Detached, env, bin, args...)
	if err != nil {
		return fmt.Errorf("devstack: %w", err)
	}
	proc.check, proc.timeout = check, timeout
	s.procs = append(s.procs, proc)
	if err := proc.waitHealthy(ctx, timeout, check); err != nil {
		return fmt.Errorf("devstack: %w", err)
	}
	fmt.Fprintf(s.opts.Log, "  %-10s healthy in %s (log: %s)\n", name, time.Since(started).Round(10*time.Millisecond), proc.logPath)
	return nil
}

// localDetailBucket is the stack's detail bucket (DETAIL_BUCKET).
const localDetailBucket = "genesys-ingest-details"

// startS3 starts gofakes3, the S3 API that holds the details too large for
// their item, with the detail bucket in it; in dataDir when there is one.
func (s *Stack) startS3(ctx context.Context, address, dataDir string) error {
	args := []string{"-host", address, "-initialbucket", localDetailBucket, "-quiet", "-backend", "memory"}
	if dataDir != "" {
		args = []string{"-host", address, "-initialbucket", localDetailBucket, "-quiet", "-backend", "bolt",
			"-bolt.db", filepath.Join(dataDir, "s3.db")}
	}
	return s.start(ctx, "s3", nil, s.opts.Paths.FakeS3(), args, 30*time.Second, tcpCheck(address))
}

func (s *Stack) temporalCheck() func(context.Context) error {
	return func(ctx context.Context) error {
		c, err := client.DialContext(ctx, client.Options{HostPort: s.Endpoints.TemporalAddress, Logger: quietLogger{}})
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err
	}
}

// serviceEnv is the worker's and the forwarder's environment: the caller's,
// with local defaults where the caller set nothing, the local services'
// addresses, and Options.Env last.
func (s *Stack) serviceEnv() []string {
	defaults := map[string]string{
		"AWS_REGION":            "us-east-1",
		"AWS_ACCESS_KEY_ID":     "local",
		"AWS_SECRET_ACCESS_KEY": "local",
		"LOG_FORMAT":            "console",
		// Simulated conversations are ready within seconds, not minutes.
		"READY_POLL_INTERVAL": "5s",
	}
	forced := map[string]string{
		"TEMPORAL_ADDRESS":   s.Endpoints.TemporalAddress,
		"TEMPORAL_NAMESPACE": "default",
		// The local server takes no API key or TLS, whatever the caller's
		// temporal.toml or environment says for other servers.
		"TEMPORAL_CONFIG_FILE":      filepath.Join(s.opts.Paths.Run, "temporal-local.toml"),
		"TEMPORAL_API_KEY":          "",
		"TEMPORAL_TLS":              "",
		"AWS_ENDPOINT_URL_DYNAMODB": s.Endpoints.DynamoDB,
		"AWS_ENDPOINT_URL_S3":       s.Endpoints.S3,
		"DETAIL_BUCKET":             localDetailBucket,
	}
	if s.Endpoints.Simulator != "" {
		forced["GENESYS_API_BASE_URL"] = s.Endpoints.Simulator
		forced["GENESYS_LOGIN_BASE_URL"] = s.Endpoints.Simulator
		forced["GENESYS_CLIENT_ID"] = simulatorClientID
		forced["GENESYS_CLIENT_SECRET"] = simulatorClientSecret
	}
	_ = os.WriteFile(forced["TEMPORAL_CONFIG_FILE"], nil, 0o644)

	env := map[string]string{}
	for k, v := range defaults {
		env[k] = v
	}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if s.opts.Hermetic && projectSetting(k) {
			continue
		}
		env[k] = v
	}
	for k, v := range forced {
		env[k] = v
	}
	for _, kv := range s.opts.Env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		if v == "" && (k == "TEMPORAL_API_KEY" || k == "TEMPORAL_TLS") {
			continue
		}
		out = append(out, k+"="+v)
	}
	return out
}

// projectSetting: an environment variable this project's binaries read
// (besides the AWS SDK's and Temporal's, which serviceEnv sets itself).
func projectSetting(name string) bool {
	for _, prefix := range []string{"FETCH_", "GENESYS_", "READY_", "DYNAMODB_", "DETAIL_", "FORWARDER_", "WORKER_",
		"LOG_", "METRICS_", "BACKLOG_", "TEMPORAL_", "AWS_ENDPOINT_URL", "STORE_", "CONTACT_"} {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	return false
}

// Stop ends the services this process started, the last started first.
func (s *Stack) Stop() {
	for i := len(s.procs) - 1; i >= 0; i-- {
		s.procs[i].stop(15 * time.Second)
	}
	s.procs = nil
}

// Running returns the endpoints of the detached stack `make up` started.
func Running(p Paths) (Endpoints, error) {
	var e Endpoints
	b, err := os.ReadFile(filepath.Join(p.Run, "endpoints.json"))
	if errors.Is(err, os.ErrNotExist) {
		return e, errNotRunning
	}
	if err != nil {
		return e, err
	}
	return e, json.Unmarshal(b, &e)
}

// Down stops exactly the services `make up` started, found through their
// pid files.
func Down(p Paths, log io.Writer) error {
	for _, name := range []string{"lambda", "worker", "simulator", "s3", "dynalite", "temporal"} {
		pidFile := filepath.Join(p.Run, name+".pid")
		b, err := os.ReadFile(pidFile)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			return fmt.Errorf("devstack: %s: %w", pidFile, err)
		}
		stopPID(pid, 15*time.Second)
		if err := os.Remove(pidFile); err != nil {
			return err
		}
		fmt.Fprintf(log, "  stopped %s (pid %d)\n", name, pid)
	}
	return os.RemoveAll(filepath.Join(p.Run, "endpoints.json"))
}

// Healthy checks that every service of a running stack answers.
func Healthy(ctx context.Context, e Endpoints) error {
	checks := []func(context.Context) error{
		tcpCheck(strings.TrimPrefix(e.TemporalAddress, "http://")),
		tcpCheck(strings.TrimPrefix(e.DynamoDB, "http://")),
		tcpCheck(strings.TrimPrefix(e.S3, "http://")),
		httpCheck(e.WorkerMetrics + "/healthz"),
		tcpCheck(strings.TrimPrefix(e.Lambda, "http://")),
	}
	if e.Simulator != "" {
		checks = append(checks, httpCheck(e.Simulator+"/healthz"))
	}
	for _, check := range checks {
		checkCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := check(checkCtx)
		cancel()
		if err != nil {
			return err
		}
	}
	return nil
}
