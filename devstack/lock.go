package devstack

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// withLock serialises installs and builds across processes: `go test ./...`
// runs several test packages at once and each starts its own stack from the
// same .tools and .local/bin.
func withLock(p Paths, fn func() error) error {
	if err := os.MkdirAll(filepath.Join(p.Root, ".local"), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(p.Root, ".local", "build.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("devstack: lock %s: %w", f.Name(), err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return fn()
}
