package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/genesys-ingest/genesys-ingest/devstack"
)

// bench runs `make bench`: the reference design's shape and the project's
// defaults, each on a fresh stack, the half-load freshness run, then the
// table, the plot and one JSON line; with -sweep-only (make bench-sweep)
// only the event source sweep. The BENCH_* environment knobs are
// documented in devstack/bench.go.
//
//	devstack bench [-smoke] [-no-build] [-sweep-only]
func bench(ctx context.Context, paths devstack.Paths, args []string) error {
	flags := flag.NewFlagSet("bench", flag.ContinueOnError)
	smoke := flags.Bool("smoke", false, "tiny sizes for CI: 20 reference and 2000 default conversations, 15 s of half load (also BENCH_SMOKE=1)")
	skipBuild := flags.Bool("no-build", false, "use the binaries already in .local/bin")
	sweepOnly := flags.Bool("sweep-only", false, "run only the event source sweep (make bench-sweep); BENCH_SWEEP=1 runs it before the benchmark")
	if err := flags.Parse(args); err != nil {
		return err
	}
	opts, err := devstack.BenchOptionsFromEnv(paths, *smoke)
	if err != nil {
		return err
	}
	if *sweepOnly {
		if !*skipBuild {
			if err := devstack.EnsureTools(ctx, paths, os.Stdout); err != nil {
				return err
			}
			fmt.Println("building the worker, simulator, starter and forwarder bootstrap…")
			if err := devstack.Build(ctx, paths, os.Stdout); err != nil {
				return err
			}
		}
		res, err := devstack.Sweep(ctx, paths, opts.SweepOptions, os.Stdout)
		if err != nil {
			return err
		}
		for _, p := range res.Points {
			if p.Lost > 0 {
				return fmt.Errorf("%d conversations lost at %s (see %s)", p.Lost, p.Source, res.File)
			}
		}
		return nil
	}
	opts.SkipBuild = *skipBuild
	opts.Out = os.Stdout
	if !opts.Smoke && os.Getenv("BENCH_RESULTS_DIR") == "" {
		// The README shows the plot of the last full run.
		opts.DocsPlot = filepath.Join(paths.Root, "docs", "bench.svg")
	}
	res, err := devstack.Bench(ctx, opts)
	if err != nil {
		return err
	}
	lost := res.Reference.Figures.Lost + res.Default.Figures.Lost
	if h := res.HalfLoad; h != nil {
		lost += h.Missing + h.Failed
	}
	if lost > 0 {
		return fmt.Errorf("%d conversations lost (see %s)", lost, res.File)
	}
	return nil
}
