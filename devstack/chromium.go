package devstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// ChromiumEnv names a Chromium (or Chrome) binary to use instead of the one
// on PATH.
const ChromiumEnv = "CHROMIUM"

// chromiumNames are the binaries looked for on PATH, Debian's first.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"}

// ErrNoChromium says that no Chromium is installed and this machine cannot
// install one: the browser test skips (loudly) on it, and only on it.
var ErrNoChromium = errors.New("devstack: no Chromium")

// EnsureChromium returns the path of a headless-capable Chromium for the
// browser test: $CHROMIUM, else one on PATH, else Debian's chromium
// package, which it installs with apt-get when it runs as root on a machine
// that has apt-get. This is the one tool the project installs globally: a
// browser is not a Go module or an npm package, and the distribution's
// build is the maintained one. Without root or apt-get it returns an error
// wrapping ErrNoChromium that says how to install one.
func EnsureChromium(ctx context.Context, log io.Writer) (string, error) {
	if path := os.Getenv(ChromiumEnv); path != "" {
		if _, err := os.Stat(path); err != nil {
			return "", fmt.Errorf("devstack: %s=%s: %w", ChromiumEnv, path, err)
		}
		return path, nil
	}
	if path, ok := findChromium(); ok {
		return path, nil
	}
	apt, err := exec.LookPath("apt-get")
	if err != nil {
		return "", fmt.Errorf("%w on PATH and no apt-get to install it: install Chromium or Chrome, or set %s", ErrNoChromium, ChromiumEnv)
	}
	if os.Geteuid() != 0 {
		return "", fmt.Errorf("%w on PATH, and installing Debian's chromium package needs root: run `sudo apt-get install chromium`, or set %s", ErrNoChromium, ChromiumEnv)
	}
	fmt.Fprintln(log, "installing Debian's chromium package for the browser test (first time only, a minute or two)…")
	install := func() error {
		// Wait for a dpkg lock held by another apt-get rather than fail.
		cmd := exec.CommandContext(ctx, apt, "install", "-y", "--no-install-recommends", "-o", "DPkg::Lock::Timeout=300", "chromium")
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.Stdout, cmd.Stderr = log, log
		return cmd.Run()
	}
	if err := install(); err != nil {
		// A fresh image often has no package lists yet.
		update := exec.CommandContext(ctx, apt, "update", "-o", "DPkg::Lock::Timeout=300")
		update.Stdout, update.Stderr = log, log
		if uerr := update.Run(); uerr != nil {
			return "", fmt.Errorf("%w: apt-get update: %v (after apt-get install chromium: %v)", ErrNoChromium, uerr, err)
		}
		if err := install(); err != nil {
			return "", fmt.Errorf("%w: apt-get install chromium: %v", ErrNoChromium, err)
		}
	}
	if path, ok := findChromium(); ok {
		return path, nil
	}
	return "", fmt.Errorf("%w: apt-get installed chromium but none of %s is on PATH", ErrNoChromium, strings.Join(chromiumNames, ", "))
}

func findChromium() (string, bool) {
	for _, name := range chromiumNames {
		if path, err := exec.LookPath(name); err == nil {
			return path, true
		}
	}
	return "", false
}
