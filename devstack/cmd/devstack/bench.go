package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/genesys-ingest/genesys-ingest/devstack"
)

// bench runs `make bench`: the reference design's shape and the project's
// defaults, each on a fresh stack, then the table and one JSON line. The
// BENCH_* environment knobs are documented in devstack/bench.go.
//
//	devstack bench [-smoke]
func bench(ctx context.Context, paths devstack.Paths, args []string) error {
	flags := flag.NewFlagSet("bench", flag.ContinueOnError)
	smoke := flags.Bool("smoke", false, "tiny sizes for CI: 20 reference and 2000 default conversations (also BENCH_SMOKE=1)")
	skipBuild := flags.Bool("no-build", false, "use the binaries already in .local/bin")
	if err := flags.Parse(args); err != nil {
		return err
	}
	opts, err := devstack.BenchOptionsFromEnv(paths, *smoke)
	if err != nil {
		return err
	}
	opts.SkipBuild = *skipBuild
	opts.Out = os.Stdout
	res, err := devstack.Bench(ctx, opts)
	if err != nil {
		return err
	}
	if lost := res.Reference.Figures.Lost + res.Default.Figures.Lost; lost > 0 {
		return fmt.Errorf("%d conversations lost (see %s)", lost, res.File)
	}
	return nil
}
