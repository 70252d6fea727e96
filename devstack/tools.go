// Package devstack runs the project's local stack: the Temporal dev server,
// dynalite (the DynamoDB API), gofakes3 (the S3 API), the Genesys Cloud
// simulator, the worker and the forwarder Lambda's real bootstrap under the
// Lambda runtime interface emulator. `make up`, `make demo`, the integration
// tests and the benchmarks all start it through this package, so there is
// one way to run it.
package devstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// Pinned tool versions. The Temporal CLI v1.5.1 is the newest that
// `go install` accepts (later ones carry a replace directive); it bundles
// Temporal Server 1.29.1 and Web UI 2.42.1.
const (
	temporalCLIModule = "github.com/temporalio/cli/cmd/temporal@v1.5.1"
	lambdaRIEModule   = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d"
	fakeS3Module      = "github.com/johannesboyne/gofakes3/cmd/gofakes3@v1.2.0"
)

// Paths are the stack's folders, all inside the checkout and git-ignored.
type Paths struct {
	Root  string // the module root
	Tools string // .tools/bin: third-party tools installed for this project
	Bin   string // .local/bin: this project's binaries
	Logs  string // .local/logs: one log file per service
	Run   string // .local/run: pid files of a detached stack
	Data  string // .local/data: Temporal and dynalite state of a detached stack
}

// FindPaths locates the module root from the working directory.
func FindPaths() (Paths, error) {
	dir, err := os.Getwd()
	if err != nil {
		return Paths{}, err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return NewPaths(dir), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return Paths{}, errors.New("devstack: no go.mod above the working directory")
		}
		dir = parent
	}
}

// NewPaths returns the folders under root.
func NewPaths(root string) Paths {
	return Paths{
		Root:  root,
		Tools: filepath.Join(root, ".tools", "bin"),
		Bin:   filepath.Join(root, ".local", "bin"),
		Logs:  filepath.Join(root, ".local", "logs"),
		Run:   filepath.Join(root, ".local", "run"),
		Data:  filepath.Join(root, ".local", "data"),
	}
}

// Temporal is the Temporal CLI: the one on PATH, else the project's own.
func (p Paths) Temporal() string {
	if path, err := exec.LookPath("temporal"); err == nil {
		return path
	}
	return filepath.Join(p.Tools, "temporal")
}

// LambdaRIE is the Lambda runtime interface emulator.
func (p Paths) LambdaRIE() string { return filepath.Join(p.Tools, "aws-lambda-rie") }

// FakeS3 is gofakes3, the local S3 API.
func (p Paths) FakeS3() string { return filepath.Join(p.Tools, "gofakes3") }

// Dynalite is the dynalite launcher installed by npm ci.
func (p Paths) Dynalite() string { return filepath.Join(p.Root, "node_modules", ".bin", "dynalite") }

// EnsureTools installs what is missing: the Temporal CLI, the Lambda
// emulator and gofakes3 from the Go module proxy into .tools/bin, dynalite from the
// committed package-lock.json with npm ci. Nothing is installed globally.
func EnsureTools(ctx context.Context, p Paths, log io.Writer) error {
	return withLock(p, func() error { return ensureTools(ctx, p, log) })
}

func ensureTools(ctx context.Context, p Paths, log io.Writer) error {
	if _, err := os.Stat(p.Temporal()); err != nil {
		fmt.Fprintln(log, "installing the Temporal CLI (first time only, a few minutes)…")
		if err := goInstall(ctx, p, temporalCLIModule, log); err != nil {
			return err
		}
	}
	if _, err := os.Stat(p.LambdaRIE()); err != nil {
		fmt.Fprintln(log, "installing the Lambda runtime interface emulator…")
		if err := goInstall(ctx, p, lambdaRIEModule, log); err != nil {
			return err
		}
	}
	if _, err := os.Stat(p.FakeS3()); err != nil {
		fmt.Fprintln(log, "installing gofakes3, the local S3…")
		if err := goInstall(ctx, p, fakeS3Module, log); err != nil {
			return err
		}
	}
	if _, err := os.Stat(p.Dynalite()); err != nil {
		fmt.Fprintln(log, "installing dynalite with npm ci…")
		if _, err := exec.LookPath("npm"); err != nil {
			return errors.New("devstack: npm is not on PATH; install Node.js 20+ and npm (Debian: apt-get install nodejs npm)")
		}
		cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir, cmd.Stdout, cmd.Stderr = p.Root, log, log
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("devstack: npm ci: %w", err)
		}
	}
	return nil
}

func goInstall(ctx context.Context, p Paths, module string, log io.Writer) error {
	cmd := exec.CommandContext(ctx, "go", "install", module)
	cmd.Env = append(os.Environ(), "GOBIN="+p.Tools)
	cmd.Dir, cmd.Stdout, cmd.Stderr = p.Root, log, log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("devstack: go install %s: %w", module, err)
	}
	return nil
}

// Build compiles the project's binaries for this machine into .local/bin:
// the worker, the simulator, the starter CLI and the forwarder's bootstrap
// (built exactly as for AWS, but for the local architecture so the emulator
// can run it).
func Build(ctx context.Context, p Paths, log io.Writer) error {
	return withLock(p, func() error { return build(ctx, p, log) })
}

func build(ctx context.Context, p Paths, log io.Writer) error {
	targets := []struct{ out, pkg, tags string }{
		{"worker", "./worker", ""},
		{"genesys-simulator", "./simulator/cmd/genesys-simulator", ""},
		{"starter", "./starter", ""},
		{"bootstrap", "./starter/lambda", "lambda.norpc"},
	}
	for _, t := range targets {
		args := []string{"build", "-trimpath", "-o", filepath.Join(p.Bin, t.out)}
		if t.tags != "" {
			args = append(args, "-tags", t.tags)
		}
		cmd := exec.CommandContext(ctx, "go", append(args, t.pkg)...)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
		cmd.Dir, cmd.Stdout, cmd.Stderr = p.Root, log, log
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("devstack: build %s: %w", t.pkg, err)
		}
	}
	return nil
}
