package devstack

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// lambdaEnv is what the emulator needs on top of the forwarder's settings:
// the function's timeout (the invocation deadline the bootstrap sees) and
// name.
var lambdaEnv = []string{"AWS_LAMBDA_FUNCTION_TIMEOUT=60", "AWS_LAMBDA_FUNCTION_NAME=genesys-ingest-forwarder"}

// lambdaArgs runs the forwarder's bootstrap under the emulator, taking
// invocations on invokeAddr.
func lambdaArgs(p Paths, invokeAddr, runtimeAPIAddr string) []string {
	return []string{"--runtime-interface-emulator-address", invokeAddr,
		"--runtime-api-address", runtimeAPIAddr, filepath.Join(p.Bin, "bootstrap")}
}

// Forwarder is an extra forwarder bootstrap under its own Lambda emulator.
type Forwarder struct {
	// Endpoints are the stack's, with Lambda pointing at this emulator, for
	// InvokeForwarder.
	Endpoints Endpoints
	proc      *process
}

// StartForwarder starts another forwarder beside the stack's, on free ports
// and with the stack's forwarder environment plus env (KEY=VALUE, applied
// last): a test points it at a Temporal that does not answer, or gives it
// another AWS_LAMBDA_FUNCTION_TIMEOUT, without touching the shared stack.
// Stack.Stop does not stop it; Forwarder.Stop does.
func (s *Stack) StartForwarder(ctx context.Context, name string, env []string) (*Forwarder, error) {
	invokePort, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("devstack: %w", err)
	}
	runtimePort, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("devstack: %w", err)
	}
	invokeAddr, runtimeAddr := "127.0.0.1:"+strconv.Itoa(invokePort), "127.0.0.1:"+strconv.Itoa(runtimePort)
	// exec.Cmd keeps the last value of a repeated key, so env wins.
	procEnv := slices.Concat(s.serviceEnv(), lambdaEnv, env)
	// Attached whatever the stack is: it ends with this process.
	proc, err := spawn(s.opts.Paths, name, false, procEnv, s.opts.Paths.LambdaRIE(), lambdaArgs(s.opts.Paths, invokeAddr, runtimeAddr)...)
	if err != nil {
		return nil, fmt.Errorf("devstack: %w", err)
	}
	if err := proc.waitHealthy(ctx, 30*time.Second, tcpCheck(invokeAddr)); err != nil {
		proc.stop(15 * time.Second)
		return nil, fmt.Errorf("devstack: %w", err)
	}
	f := &Forwarder{Endpoints: s.Endpoints, proc: proc}
	f.Endpoints.Lambda = "http://" + invokeAddr
	return f, nil
}

// Stop ends the forwarder's emulator and bootstrap.
func (f *Forwarder) Stop() { f.proc.stop(15 * time.Second) }
