package devstack

// Reporting for the benchmark: percentiles and rounding, the targets the
// default configuration is checked against, the markdown tables
// printBench writes, and the prefixWriter that labels each run's output.

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"
)

// TargetCheck is one target of the default configuration.
type TargetCheck struct {
	Figure   string  `json:"figure"`
	Target   string  `json:"target"`
	Measured float64 `json:"measured"`
	Met      bool    `json:"met"`
}

func percentileMs(latencies []time.Duration, p float64) float64 {
	if len(latencies) == 0 {
		return 0
	}
	sorted := slices.Clone(latencies)
	slices.Sort(sorted)
	rank := int(math.Ceil(p*float64(len(sorted)))) - 1
	rank = min(max(rank, 0), len(sorted)-1)
	return round3(float64(sorted[rank].Microseconds()) / 1000)
}

// defaultTargets checks the default configuration against its targets on
// a 2-core machine at 300 requests a minute, and the half load against the
// freshness goal.
func defaultTargets(c *BenchConfig, half *LoadResult) []TargetCheck {
	f := c.Figures
	var extra []TargetCheck
	if half != nil {
		goal := float64(benchFreshnessGoal.Milliseconds())
		extra = append(extra, TargetCheck{"halfLoad.p99LatencyMs", fmt.Sprintf("≤ %.0f", goal), half.P99LatencyMs, half.P99LatencyMs <= goal},
			TargetCheck{"halfLoad.lost", "= 0", float64(half.Missing + half.Failed), half.Missing+half.Failed == 0})
	}
	return append([]TargetCheck{
		{"conversationsPerSecond", "≥ 430", f.ConversationsPerSecond, f.ConversationsPerSecond >= 430},
		{"genesysRequestsPerConversation", "≤ 0.011", f.GenesysRequestsPerConversation, f.GenesysRequestsPerConversation <= 0.011},
		{"rateLimitedShare", "< 1% of requests", c.RateLimitedShare, c.RateLimitedShare < 0.01},
		{"lost", "= 0", float64(f.Lost), f.Lost == 0},
		{"historyEventsPerConversation", "≤ 0.1", f.HistoryEventsPerConversation, f.HistoryEventsPerConversation <= 0.1},
		{"historyBytesPerConversation", "≤ 1 KB", f.HistoryBytesPerConversation, f.HistoryBytesPerConversation <= 1024},
		{"workerPeakRssBytes", "< 300 MB", float64(f.WorkerPeakRssBytes), f.WorkerPeakRssBytes < 300_000_000},
	}, extra...)
}

// printBench prints the figures, the CPU per service and the targets as
// markdown.
func printBench(w io.Writer, r *BenchResult) {
	ref, def := &r.Reference, &r.Default
	row := func(name, a, b string) { fmt.Fprintf(w, "| %s | %s | %s |\n", name, a, b) }
	f := func(format string, v ...any) string { return fmt.Sprintf(format, v...) }
	fmt.Fprintf(w, "\nbacklog drains through the event source mapping (%s): %d and %d conversations, deliveries of up to %d and %d events\n",
		r.EventSource, ref.Conversations, def.Conversations, ref.EventsPerDelivery, def.EventsPerDelivery)
	fmt.Fprintf(w, "\n| figure | reference | default |\n|---|---:|---:|\n")
	row("conversations/s", f("%.1f", ref.Figures.ConversationsPerSecond), f("%.1f", def.Figures.ConversationsPerSecond))
	row("Genesys requests/conversation", f("%.4f", ref.Figures.GenesysRequestsPerConversation), f("%.4f", def.Figures.GenesysRequestsPerConversation))
	row("429s (share of requests)", f("%d (%.2f%%)", ref.Figures.RateLimited, 100*ref.RateLimitedShare), f("%d (%.2f%%)", def.Figures.RateLimited, 100*def.RateLimitedShare))
	row("history events/conversation", f("%.4f", ref.Figures.HistoryEventsPerConversation), f("%.4f", def.Figures.HistoryEventsPerConversation))
	row("history bytes/conversation", f("%.0f", ref.Figures.HistoryBytesPerConversation), f("%.0f", def.Figures.HistoryBytesPerConversation))
	row("lost (missing + failed)", f("%d", ref.Figures.Lost), f("%d", def.Figures.Lost))
	row("worker peak RSS MB", f("%.1f", float64(ref.Figures.WorkerPeakRssBytes)/1e6), f("%.1f", float64(def.Figures.WorkerPeakRssBytes)/1e6))
	row("conversations", f("%d", ref.Report.Conversations), f("%d", def.Report.Conversations))
	row("events / SQS batches", f("%d / %d", ref.Report.Events, ref.Report.Deliveries), f("%d / %d", def.Report.Events, def.Report.Deliveries))
	row("workflows / runs", f("%d / %d", ref.History.Workflows, ref.History.Runs), f("%d / %d", def.History.Workflows, def.History.Runs))
	row("Genesys requests", f("%d", ref.Report.GenesysRequests), f("%d", def.Report.GenesysRequests))
	idsPer := func(c *BenchConfig) float64 {
		if c.Report.Conversations == 0 {
			return 0
		}
		return float64(c.SimulatorTotals.IDsRequested) / float64(c.Report.Conversations)
	}
	row("Genesys ids requested/conversation", f("%.2f", idsPer(ref)), f("%.2f", idsPer(def)))
	row("fetch activities (retries)", f("%d (%d)", ref.History.Activities, ref.History.ActivityRetries), f("%d (%d)", def.History.Activities, def.History.ActivityRetries))
	row("fetch activity queue wait p50 / p99 ms", f("%.0f / %.0f", ref.History.ActivityWaitP50Ms, ref.History.ActivityWaitP99Ms), f("%.0f / %.0f", def.History.ActivityWaitP50Ms, def.History.ActivityWaitP99Ms))
	row("fetch activity run time p50 / p99 ms", f("%.0f / %.0f", ref.History.ActivityRunP50Ms, ref.History.ActivityRunP99Ms), f("%.0f / %.0f", def.History.ActivityRunP50Ms, def.History.ActivityRunP99Ms))
	rate := func(c *BenchConfig) float64 {
		if c.ElapsedSeconds == 0 {
			return 0
		}
		return float64(c.Report.GenesysRequests) / c.ElapsedSeconds
	}
	row("Genesys requests/s (limit 4.5)", f("%.2f", rate(ref)), f("%.2f", rate(def)))
	row("elapsed s (first event → last item)", f("%.1f", ref.ElapsedSeconds), f("%.1f", def.ElapsedSeconds))
	fmt.Fprintf(w, "\nthroughput ratio default/reference: %.2f×\n", r.ThroughputRatio)
	fmt.Fprintf(w, "time from a conversation's delivery to its item in the backlog drain (depends on the backlog's size, so not compared): reference p50 %.0f / p99 %.0f ms of %d, default p50 %.0f / p99 %.0f ms of %d\n",
		ref.Figures.P50LatencyMs, ref.Figures.P99LatencyMs, ref.Conversations, def.Figures.P50LatencyMs, def.Figures.P99LatencyMs, def.Conversations)
	if h := r.HalfLoad; h != nil {
		printHalfLoad(w, h)
	}
	if len(r.LambdaColdStart.SamplesMs) > 0 {
		fmt.Fprintf(w, "forwarder Lambda cold start (emulator start → first answer, Temporal unreachable): median %.0f ms of %d\n",
			r.LambdaColdStart.MedianMs, len(r.LambdaColdStart.SamplesMs))
	}

	fmt.Fprintf(w, "\nCPU seconds per service during the run (cores busy on average; reference window %.1fs, default %.1fs):\n\n",
		ref.WindowSeconds, def.WindowSeconds)
	fmt.Fprintf(w, "| service | reference | default | default peak RSS MB |\n|---|---:|---:|---:|\n")
	var total [2]float64
	for _, name := range []string{"temporal", "dynalite", "simulator", "worker", "lambda", "driver"} {
		a, aok := ref.Usage[name]
		b, bok := def.Usage[name]
		if !aok && !bok {
			continue
		}
		total[0] += a.CPUSeconds
		total[1] += b.CPUSeconds
		row(name, f("%.1f (%.2f)", a.CPUSeconds, a.Cores), f("%.1f (%.2f) | %.1f", b.CPUSeconds, b.Cores, float64(b.PeakRSSBytes)/1e6))
	}
	cores := func(c *BenchConfig, t float64) float64 {
		if c.WindowSeconds == 0 {
			return 0
		}
		return t / c.WindowSeconds
	}
	row("total", f("%.1f (%.2f)", total[0], cores(ref, total[0])), f("%.1f (%.2f) | ", total[1], cores(def, total[1])))
	row("whole machine: busy cores (others' share)", f("%.2f (%.2f)", ref.Machine.BusyCores, ref.Machine.OtherCores),
		f("%.2f (%.2f) | ", def.Machine.BusyCores, def.Machine.OtherCores))

	note := ""
	if r.Smoke {
		note = " (smoke sizes: the targets are for the full run)"
	}
	fmt.Fprintf(w, "\ndefault configuration against its targets%s:\n", note)
	for _, t := range r.Targets {
		mark := "met"
		if !t.Met {
			mark = "MISSED"
		}
		fmt.Fprintf(w, "  %-32s %-18s measured %-12s %s\n", t.Figure, t.Target, strconv.FormatFloat(t.Measured, 'f', -1, 64), mark)
	}
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }
func round4(v float64) float64 { return math.Round(v*10000) / 10000 }

// prefixWriter prefixes every line with a label.
type prefixWriter struct {
	mu     sync.Mutex
	prefix string
	w      io.Writer
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		if _, err := fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.buf[:i]); err != nil {
			return len(b), err
		}
		p.buf = p.buf[i+1:]
	}
}

// Flush writes a trailing partial line.
func (p *prefixWriter) Flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.buf) > 0 {
		fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.buf)
		p.buf = nil
	}
}

// printHalfLoad prints the half-load run: its freshness and where it goes.
func printHalfLoad(w io.Writer, h *LoadResult) {
	fmt.Fprintf(w, "\nhalf load: %.0f conversations/s offered (%.1f/s emitted) for %.0f s, event source %s: %d conversations, %d deliveries of %.1f events on average (at most %d), %d workflows\n",
		h.ConversationsPerSecond, h.AchievedPerSecond, h.Seconds, h.Source, h.Conversations, h.Deliveries, h.EventsPerDelivery,
		h.MaxEventsPerDelivery, h.Workflows)
	fmt.Fprintf(w, "  freshness (arrival in the queue → item stored): p50 %.0f ms, p90 %.0f ms, p99 %.0f ms, max %.0f ms; from the forwarder's invocation: p50 %.0f, p99 %.0f ms\n",
		h.P50LatencyMs, h.P90LatencyMs, h.P99LatencyMs, h.MaxLatencyMs, h.InvokedP50LatencyMs, h.InvokedP99LatencyMs)
	fmt.Fprintf(w, "  %.4f history events and %.4f Genesys requests per conversation (%d requests, %d × 429); %d chunks of %.1f ids on average, %d partial; %d lost\n",
		h.HistoryEventsPerConversation, h.GenesysRequestsPerConversation, h.GenesysRequests, h.RateLimited, h.Chunks, h.MeanChunkSize,
		h.PartialChunks, h.Missing+h.Failed)
	fmt.Fprintf(w, "  machine: %.2f cores busy, %.2f of them the benchmark's, %.2f other work; load average %.2f\n",
		h.Machine.BusyCores, h.Machine.StackCores, h.Machine.OtherCores, h.Machine.LoadAverage)
	if len(h.Stages) > 0 {
		fmt.Fprintf(w, "\n| stage of a conversation's freshness | conversations | p50 ms | p99 ms | mean in the slowest 1%% ms |\n|---|---:|---:|---:|---:|\n")
		for _, s := range h.Stages {
			fmt.Fprintf(w, "| %s | %d | %.0f | %.0f | %.0f |\n", s.Name, s.Conversations, s.P50Ms, s.P99Ms, s.SlowestMsAv)
		}
	}
}

// benchPlotTitle names the plot and says where it came from.
func benchPlotTitle(r *BenchResult) (title, subtitle string) {
	return "Stored conversations per second (make bench)",
		fmt.Sprintf("%d × %s, %s; event source batch size %d, window %s, %d pollers; simulator rate limit 300 requests/min",
			r.Machine.NProc, r.Machine.CPUModel, r.StartedAt.Format("2006-01-02"), r.EventSource.BatchSize, r.EventSource.Window, r.EventSource.Pollers)
}

// benchPanels are the plot's panels: each run with its request budget.
func benchPanels(r *BenchResult) []plotPanel {
	budget := 4.5
	panels := []plotPanel{
		{Title: fmt.Sprintf("reference (FETCH_BATCH_SIZE=1): a backlog of %d conversations, deliveries of %d events", r.Reference.Conversations, r.Reference.EventsPerDelivery),
			PerSecond: r.Reference.StoredPerSecond, Budget: budget, BudgetLabel: "request budget: 4.5 requests/s × 1 id = 4.5/s"},
		{Title: fmt.Sprintf("default (FETCH_BATCH_SIZE=100): a backlog of %d conversations, deliveries of %d events", r.Default.Conversations, r.Default.EventsPerDelivery),
			PerSecond: r.Default.StoredPerSecond, Budget: budget * 100, BudgetLabel: "request budget: 4.5 requests/s × 100 ids = 450/s"},
	}
	if h := r.HalfLoad; h != nil {
		panels = append(panels, plotPanel{Title: fmt.Sprintf("default at half load: %.0f conversations/s for %.0f s (p99 freshness %.0f ms)", h.ConversationsPerSecond, h.Seconds, h.P99LatencyMs),
			PerSecond: h.StoredPerSecond, Budget: budget * 100, BudgetLabel: "request budget: 4.5 requests/s × 100 ids = 450/s", Offered: h.ConversationsPerSecond})
	}
	return panels
}
