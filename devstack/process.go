package devstack

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// process is one service the stack started.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
	// check and timeout are how the stack waited for it to be healthy;
	// a restart (chaos) waits the same way.
	check   func(context.Context) error
	timeout time.Duration
}

// spawn starts a service in its own process group, its output in
// .local/logs/NAME.log. A detached service outlives this process (make up)
// and is found again through its pid file; an attached one dies with it, so a
// crashed test leaves nothing behind.
func spawn(p Paths, name string, detached bool, env []string, bin string, args ...string) (*process, error) {
	for _, dir := range []string{p.Logs, p.Run} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	logPath := filepath.Join(p.Logs, name+".log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	fmt.Fprintf(logFile, "\n=== %s: %s %s\n", time.Now().Format(time.RFC3339), bin, strings.Join(redactSecretArgs(args), " "))

	cmd := exec.Command(bin, args...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = p.Root, env, logFile, logFile
	if detached {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	} else {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	proc := &process{name: name, cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(proc.exited)
	}()
	if detached {
		pidFile := filepath.Join(p.Run, name+".pid")
		if err := os.WriteFile(pidFile, []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
			return nil, err
		}
	}
	return proc, nil
}

// waitHealthy polls check until it passes, the process exits or the timeout
// passes; failures quote the end of the service's log.
func (proc *process) waitHealthy(ctx context.Context, timeout time.Duration, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		checkCtx, done := context.WithTimeout(ctx, 2*time.Second)
		last = check(checkCtx)
		done()
		if last == nil {
			return nil
		}
		select {
		case <-proc.exited:
			return fmt.Errorf("%s exited during start-up (%v); end of %s:\n%s", proc.name, proc.cmd.ProcessState, proc.logPath, tail(proc.logPath, 15))
		case <-ctx.Done():
			return fmt.Errorf("%s not healthy after %s: %v; end of %s:\n%s", proc.name, timeout, last, proc.logPath, tail(proc.logPath, 15))
		case <-time.After(150 * time.Millisecond):
		}
	}
}

// stop asks the service's process group to end, then forces it.
func (proc *process) stop(grace time.Duration) {
	_ = syscall.Kill(-proc.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-proc.exited:
	case <-time.After(grace):
		_ = syscall.Kill(-proc.cmd.Process.Pid, syscall.SIGKILL)
		<-proc.exited
	}
}

// stopPID ends a detached service found through its pid file.
func stopPID(pid int, grace time.Duration) {
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
}

func tcpCheck(addr string) func(context.Context) error {
	return func(ctx context.Context) error {
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return conn.Close()
	}
}

func httpCheck(url string) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	}
}

// portFree reports whether nothing listens on addr, so a service that is
// already there (another Temporal on 7233, say) is never mistaken for ours.
func portFree(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s is in use by another program: %w", addr, err)
	}
	return l.Close()
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(path string, lines int) string {
	f, err := os.Open(path)
	if err != nil {
		return "(no log)"
	}
	defer f.Close()
	var ring []string
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 64*1024), 1024*1024)
	for scanner.Scan() {
		ring = append(ring, scanner.Text())
		if len(ring) > lines {
			ring = ring[1:]
		}
	}
	return "    " + strings.Join(ring, "\n    ")
}

var errNotRunning = errors.New("the local stack is not running (make up starts it)")

// redactSecretArgs hides the value of every --…secret flag, so that a
// service's launch line in its log shows no secret.
func redactSecretArgs(args []string) []string {
	out := slices.Clone(args)
	for i := 0; i+1 < len(out); i++ {
		if strings.HasPrefix(out[i], "--") && strings.HasSuffix(out[i], "secret") {
			out[i+1] = "[redacted]"
		}
	}
	return out
}
