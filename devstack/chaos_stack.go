package devstack

import (
	"context"
	"fmt"
	"slices"
	"syscall"
	"time"
)

// Service controls for the chaos suite. Each acts on one service this Stack
// started and keeps its ports, command and environment, so the rest of the
// stack finds it again where it was. They are not safe to call concurrently
// with each other or with Stop.

// KillService ends a service's process group at once with SIGKILL, as a
// crash or the OOM killer would: no graceful shutdown, nothing flushed.
func (s *Stack) KillService(name string) error {
	proc, err := s.proc(name)
	if err != nil {
		return err
	}
	_ = syscall.Kill(-proc.cmd.Process.Pid, syscall.SIGKILL)
	<-proc.exited
	return nil
}

// StopService asks a service to end (SIGTERM) and waits for it, forcing it
// after 15 s.
func (s *Stack) StopService(name string) error {
	proc, err := s.proc(name)
	if err != nil {
		return err
	}
	proc.stop(15 * time.Second)
	return nil
}

// StartService starts a service that KillService or StopService ended, with
// the same command line and environment, and waits until it is healthy the
// way Start did. Temporal and dynalite keep their state across a restart
// only if the stack has a DataDir.
func (s *Stack) StartService(ctx context.Context, name string) error {
	old, err := s.proc(name)
	if err != nil {
		return err
	}
	select {
	case <-old.exited:
	default:
		return fmt.Errorf("devstack: %s is still running", name)
	}
	started := time.Now()
	proc, err := spawn(s.opts.Paths, name, s.opts.Detached, old.cmd.Env, old.cmd.Path, old.cmd.Args[1:]...)
	if err != nil {
		return fmt.Errorf("devstack: restart %w", err)
	}
	proc.check, proc.timeout = old.check, old.timeout
	s.procs[slices.Index(s.procs, old)] = proc
	if err := proc.waitHealthy(ctx, proc.timeout, proc.check); err != nil {
		return fmt.Errorf("devstack: restart: %w", err)
	}
	fmt.Fprintf(s.opts.Log, "  %-10s restarted, healthy in %s\n", name, time.Since(started).Round(10*time.Millisecond))
	return nil
}

func (s *Stack) proc(name string) (*process, error) {
	for _, p := range s.procs {
		if p.name == name {
			return p, nil
		}
	}
	return nil, fmt.Errorf("devstack: this stack did not start %s", name)
}
