package integration

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"

	"github.com/genesys-ingest/genesys-ingest/devstack"
	"github.com/genesys-ingest/genesys-ingest/workflows"
)

// ScreenshotsDir is where the browser test saves its screenshots, under the
// module root; it is git-ignored, and `make docs-screenshots` copies them to
// docs/webui/ for the README.
const ScreenshotsDir = "test-screenshots"

// browserSkippedMarker is written when the browser test skips, so that
// `make test` (which shows no output of a passing package) can say so.
const browserSkippedMarker = ".local/browser-test-skipped"

// TestWebUITellsTheStory runs a few batches through the pipeline and then
// reads the local Temporal Web UI in headless Chromium as a new user would:
// the batch workflows in the list, a finished batch's summary, details and
// labelled readiness timers, and the fetch scheduler with its chunks. It
// saves a screenshot of each page in ScreenshotsDir. Where Chromium cannot
// be installed it skips, loudly; anything else that goes wrong fails.
func TestWebUITellsTheStory(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	paths, err := devstack.FindPaths()
	require.NoError(t, err)
	_ = os.Remove(filepath.Join(paths.Root, browserSkippedMarker))
	chromium, err := devstack.EnsureChromium(ctx, os.Stderr)
	if errors.Is(err, devstack.ErrNoChromium) {
		skipLoudly(t, paths.Root, err)
	}
	require.NoError(t, err)

	// A finished run: batches that waited for readiness at least once (the
	// simulator hides each conversation for a second after its events).
	started := time.Now().Add(-time.Second)
	report, err := devstack.Drive(ctx, stack.Endpoints, devstack.DriveOptions{Conversations: 24, EventsPerDelivery: 16})
	require.NoError(t, err)
	require.Empty(t, report.Missing)
	batch := -1
	for i, s := range report.Summaries {
		if s.Submissions >= 2 && (batch < 0 || s.Submissions > report.Summaries[batch].Submissions) {
			batch = i
		}
	}
	require.GreaterOrEqual(t, batch, 0, "no batch polled for readiness again: %+v", report.Summaries)
	batchID, summary := report.WorkflowIDs[batch], report.Summaries[batch]
	schedulerID := workflows.FetchSchedulerID(workflows.DefaultGenesysTaskQueue)

	shots := filepath.Join(paths.Root, ScreenshotsDir)
	require.NoError(t, os.MkdirAll(shots, 0o755))
	b := newBrowser(ctx, t, chromium, shots)

	// The list: every batch of the run.
	b.open(stack.Endpoints.WorkflowsURL() + "?query=" + url.QueryEscape(fmt.Sprintf(
		"WorkflowType = '%s' AND StartTime >= '%s'", workflows.IngestWorkflowName, started.UTC().Format(time.RFC3339))))
	for _, id := range report.WorkflowIDs {
		b.waitFor("the batch "+id+" in the list", literal(id))
	}
	b.screenshot("webui-1-batches.png")

	// A batch: opened from the list, its summary and details.
	b.click("the batch's link", fmt.Sprintf(`a[href^="/namespaces/default/workflows/%s/"]`, batchID))
	b.waitFor("the batch's page", literal(batchID), literal(workflows.IngestWorkflowName))
	b.click("the User Metadata tab", "#user-metadata-tab")
	staticSummary := startSummary(ctx, t, batchID)
	require.Regexp(t, `^\d+ conversations from an sqs delivery \(\d+ events, \d+ rejected, \d+ ignored\)$`, staticSummary)
	require.True(t, strings.HasPrefix(staticSummary, strconv.Itoa(summary.Received)+" conversations"), staticSummary)
	b.waitFor("the batch's summary, details and timers",
		literal(staticSummary),
		// Current Details, as the finished run left them (markdown rendered).
		literal(fmt.Sprintf("%d received · %d stored complete · %d incomplete · %d unchanged · %d failed · %d submissions to the fetch scheduler %s",
			summary.Received, summary.StoredComplete, summary.StoredIncomplete, summary.Unchanged, summary.Failed, summary.Submissions, schedulerID)),
		// The workflow's static details: what it does.
		literal("in DynamoDB via the fetch scheduler "+schedulerID),
		// Events with Metadata: the timer between readiness polls says what it waits for.
		regexp.MustCompile(`Timer wait for \d+ conversations? to be ready in Genesys \(poll 2\) Fired`),
		literal("Activity record the batch Completed"))
	b.screenshot("webui-2-batch.png")

	b.click("the History tab", "#history-tab")
	b.waitFor("the batch's timeline", regexp.MustCompile(`wait for \d+ conversations? to be ready in Genesys \(poll 2\)`),
		literal("RecordBatch • record the batch"))
	b.screenshotTimeline("webui-3-batch-timeline.png")

	// The scheduler that fetched for it, from the list too.
	b.open(stack.Endpoints.WorkflowsURL() + "?query=" + url.QueryEscape(fmt.Sprintf(
		"WorkflowType = '%s' AND ExecutionStatus = 'Running'", workflows.FetchSchedulerWorkflowName)))
	b.waitFor("the running fetch scheduler in the list", literal(schedulerID))
	b.click("the scheduler's link", fmt.Sprintf(`a[href^="/namespaces/default/workflows/%s/"]`, schedulerID))
	b.waitFor("the scheduler's page", literal(workflows.FetchSchedulerWorkflowName))
	b.click("the User Metadata tab", "#user-metadata-tab")
	chunk := regexp.MustCompile(`Activity fetch and store (\d+) conversations? Completed`)
	b.waitFor("the scheduler's summary, details and chunks",
		literal("Fetches for every batch on task queue "+workflows.DefaultGenesysTaskQueue),
		literal("Its parent only started it"),
		// Every batch of this run has its report, so the scheduler has
		// nothing left to do and says why it still runs (unless an earlier
		// test of the package left it work: then it shows that).
		regexp.MustCompile(`Idle: nothing queued or in flight; it finishes after 10m0s without a submission\.|`+
			`\d+ queued · \d+ chunks in flight · \d+ open submissions · \d+ waitlisted`),
		regexp.MustCompile(`\d+ conversations submitted · \d+ coalesced · \d+ chunks · \d+ Genesys requests · run \d+`),
		chunk)
	for _, m := range chunk.FindAllStringSubmatch(b.text(), -1) {
		n, _ := strconv.Atoi(m[1])
		require.True(t, n >= 1 && n <= workflows.MaxFetchBatchSize, "a chunk of %d conversations", n)
	}
	b.screenshot("webui-4-scheduler.png")
	b.click("the History tab", "#history-tab")
	b.waitFor("the scheduler's timeline", literal("FetchAndStoreConversations • fetch and store"))
	b.screenshotTimeline("webui-5-scheduler-timeline.png")
	t.Logf("screenshots in %s", shots)
}

// skipLoudly skips the test with a message nobody can miss, and leaves it
// in browserSkippedMarker for `make test`, which prints it at the end.
func skipLoudly(t *testing.T, root string, err error) {
	t.Helper()
	msg := strings.Join([]string{
		"",
		"!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
		"!! THE BROWSER TEST DID NOT RUN: the Web UI was not checked.",
		"!! " + err.Error(),
		"!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
		"",
	}, "\n")
	fmt.Fprintln(os.Stderr, msg)
	_ = os.WriteFile(filepath.Join(root, browserSkippedMarker), []byte(msg+"\n"), 0o644)
	t.Skip(msg)
}

// startSummary is the workflow's static summary as the server holds it.
func startSummary(ctx context.Context, t *testing.T, workflowID string) string {
	t.Helper()
	desc, err := temporalClient(t).DescribeWorkflowExecution(ctx, workflowID, "")
	require.NoError(t, err)
	var s string
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(desc.GetExecutionConfig().GetUserMetadata().GetSummary(), &s))
	return s
}

// browser is one headless Chromium tab on the Web UI.
type browser struct {
	t     *testing.T
	ctx   context.Context
	shots string
}

// stepTimeout bounds each wait: the Web UI is a single-page app that
// fetches after it renders, and visibility lags workflow state a little.
const stepTimeout = 45 * time.Second

func newBrowser(ctx context.Context, t *testing.T, chromium, shots string) *browser {
	t.Helper()
	// No sandbox: Chromium refuses one as root, and many containers cannot
	// give it one; the only page it opens is the local Web UI.
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.WindowSize(1440, 1000),
		chromedp.NoSandbox)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	tabCtx, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	// The first action starts the browser, which lives as long as the
	// context of that action: the tab's, not a step's. The viewport fixes
	// the screenshots' size.
	if err := chromedp.Do(tabCtx, chromedp.EmulateViewport(1440, 1000)); err != nil {
		t.Fatalf("start Chromium (%s): %v", chromium, err)
	}
	return &browser{t: t, ctx: tabCtx, shots: shots}
}

func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.fail("%s: %v", what, err)
	}
}

func (b *browser) open(u string) {
	b.t.Helper()
	b.do("open "+u, chromedp.Navigate(u))
}

// click clicks the first element the CSS selector finds, once it is visible.
func (b *browser) click(what, selector string) {
	b.t.Helper()
	b.do("click "+what+" ("+selector+")", chromedp.Click(chromedp.CSS(selector)))
}

// pageText is the text of the page and of its same-origin frames: the Web
// UI renders summaries and details (markdown) in an iframe each.
const pageText = `(() => {
	const parts = [document.body ? document.body.innerText : ""];
	for (const f of document.querySelectorAll("iframe")) {
		try { if (f.contentDocument && f.contentDocument.body) parts.push(f.contentDocument.body.innerText); } catch (e) {}
	}
	return parts.join("\n");
})()`

var spaces = regexp.MustCompile(`\s+`)

// text is what the page shows, with runs of white space made one space.
func (b *browser) text() string {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](pageText))
	if err != nil {
		return fmt.Sprintf("(could not read the page: %v)", err)
	}
	return spaces.ReplaceAllString(s, " ")
}

func literal(s string) *regexp.Regexp {
	return regexp.MustCompile(regexp.QuoteMeta(spaces.ReplaceAllString(s, " ")))
}

// waitFor waits until the page shows every pattern, or fails with what it
// showed.
func (b *browser) waitFor(what string, patterns ...*regexp.Regexp) {
	b.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		text := b.text()
		var missing []string
		for _, p := range patterns {
			if !p.MatchString(text) {
				missing = append(missing, p.String())
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) || b.ctx.Err() != nil {
			b.fail("waited %s for %s; the page does not show %q", stepTimeout, what, missing)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func (b *browser) screenshot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.fail("screenshot %s: %v", name, err)
	}
	require.NoError(b.t, os.WriteFile(filepath.Join(b.shots, name), png, 0o644))
}

// screenshotTimeline saves the window scrolled to the Event History, its
// timeline shown whole rather than in its scrolled box (as far as the
// window reaches).
func (b *browser) screenshotTimeline(name string) {
	b.t.Helper()
	b.do("scroll to the timeline", chromedp.Evaluate[chromedp.Void](`(() => {
		const g = document.getElementById("event-history-timeline-graph");
		const w = document.getElementById("content-wrapper");
		if (!g || !w) throw new Error("no timeline on the page");
		g.style.maxHeight = "none"; g.style.height = "auto"; g.style.overflow = "visible";
		const h = Array.from(document.querySelectorAll("h2")).find(e => e.textContent.trim() === "Event History");
		(h || g).scrollIntoView({block: "start"});
		w.scrollBy(0, -70);
	})()`), chromedp.Sleep(500*time.Millisecond))
	b.screenshot(name)
}

// fail ends the test with the page's address, what it showed and a
// screenshot of it.
func (b *browser) fail(format string, args ...any) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(b.ctx), 10*time.Second)
	defer cancel()
	location, _ := chromedp.Run(ctx, chromedp.Location())
	shot := filepath.Join(b.shots, "failure.png")
	if png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()); err == nil {
		_ = os.WriteFile(shot, png, 0o644)
	}
	text := b.text()
	if len(text) > 6000 {
		text = text[:6000] + " …"
	}
	b.t.Fatalf("%s\n\npage: %s\nscreenshot: %s\nthe page showed: %s", fmt.Sprintf(format, args...), location, shot, text)
}
