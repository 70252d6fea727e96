package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestUpsertAgainstDynalite runs the upsert rules against a real DynamoDB
// API, which the fake cannot: it evaluates the condition expressions and
// enforces the item size limit. Each subtest has its own table.
func TestUpsertAgainstDynalite(t *testing.T) {
	api, _ := startDynalite(t)
	newTable := func(t *testing.T) *Table {
		table := NewTable(api, Config{TableName: strings.ReplaceAll(t.Name(), "/", "-")})
		require.NoError(t, table.CreateTable(context.Background()))
		return table
	}
	t.Run("matrix", func(t *testing.T) { testUpsertMatrix(t, newTable(t)) })
	t.Run("complete fetched earlier replaces incomplete", func(t *testing.T) { testCompleteFetchedEarlier(t, newTable(t)) })
	t.Run("oversize record fits", func(t *testing.T) { testOversizeRecordFits(t, newTable(t)) })
	t.Run("oversize detail goes to the detail bucket", func(t *testing.T) {
		table := newTable(t)
		testOversizeDetailInBucket(t, NewTable(api, Config{TableName: table.Name(), DetailBucket: testBucket, Objects: fakeS3(t)}))
	})
	t.Run("one call with a conversation twice", func(t *testing.T) { testConversationTwiceInOneCall(t, newTable(t)) })
	t.Run("concurrent calls race on the same conversations", func(t *testing.T) { testConcurrentUpserts(t, newTable(t)) })
	t.Run("failures never replace a record and records replace failures", func(t *testing.T) { testFailures(t, newTable(t)) })
	t.Run("an item DynamoDB rejects fails only itself", func(t *testing.T) { testRejectedItem(t, newTable(t)) })
	t.Run("batch records", func(t *testing.T) { testBatches(t, api) })
	t.Run("a late wrap-up is fetched again and replaces the item", func(t *testing.T) { testLateWrapUp(t, newTable(t)) })
	t.Run("day index and migration", func(t *testing.T) { testDayIndexAndMigration(t, newTable(t)) })
}

func testLateWrapUp(t *testing.T, table *Table) {
	ctx := context.Background()
	complete := readFixture(t, completeFixture)
	late := bytes.Replace(complete, []byte(`"wrapUpCode": "`+fixtureWrapUp+`",`), nil, 1)
	assert.Equal(t, Written, upsert(t, table, snapshotRecord(t, late, fetchedAt)))
	stored, err := table.CompleteIDs(ctx, []string{fixtureID})
	require.NoError(t, err)
	assert.Empty(t, stored, "stored complete without its agent's wrap-up: the next event fetches it again")

	assert.Equal(t, Written, upsert(t, table, snapshotRecord(t, complete, fetchedAt.Add(time.Minute))))
	stored, err = table.CompleteIDs(ctx, []string{fixtureID})
	require.NoError(t, err)
	assert.Equal(t, map[string]bool{fixtureID: true}, stored)
	r, _, err := table.GetRecord(ctx, fixtureID)
	require.NoError(t, err)
	assert.Equal(t, []string{fixtureWrapUp}, r.WrapUpCodes)
	assert.Nil(t, r.MissingWrapUps, "the attribute is gone with the new version")
}

func testFailures(t *testing.T, table *Table) {
	ctx := context.Background()
	complete := fixtureRecord(t, completeFixture, fetchedAt)
	other := "0b7e6a52-3c1d-4f2e-9a8b-7c6d5e4f3a21"
	first := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	failures := []Failure{
		{ConversationID: other, OrgID: "org-1", Reason: "not found in Genesys analytics within READY_TIMEOUT (2h0m0s)", Attempts: 2, FirstEventAt: first, LastEventAt: first},
		{ConversationID: fixtureID, Reason: "GenesysBadRequest: 400"},
	}
	upsert(t, table, complete)
	outcomes, err := table.RecordFailures(ctx, failures)
	require.NoError(t, err)
	assert.Equal(t, []FailureOutcome{FailureRecorded, FailureKept}, outcomes)
	stored, _, err := table.GetRecord(ctx, fixtureID)
	require.NoError(t, err)
	assert.True(t, stored.Complete(), "a failure never replaces a stored record")

	// A second failure widens the event times and adds up.
	later := Failure{ConversationID: other, Reason: "still failing", Attempts: 3, FirstEventAt: first.Add(time.Hour), LastEventAt: first.Add(time.Hour)}
	_, err = table.RecordFailures(ctx, []Failure{later})
	require.NoError(t, err)
	item, found, err := table.Get(ctx, other)
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, StatusFailed, item["status"])
	assert.Equal(t, "still failing", item["failureReason"])
	assert.Equal(t, int64(5), item["attempts"])
	assert.Equal(t, int64(2), item["failures"])
	assert.Equal(t, "2026-11-30T10:00:00.000Z", item["firstEventAt"])
	assert.Equal(t, "2026-11-30T11:00:00.000Z", item["lastEventAt"])
	assert.Equal(t, "org-1", item["orgId"])
	assert.NotContains(t, item, "detail")

	listed, err := table.ListConversations(ctx, []string{StatusFailed}, time.Time{})
	require.NoError(t, err)
	require.Len(t, listed, 1)
	assert.Equal(t, other, listed[0].ConversationID)
	listed, err = table.ListConversations(ctx, []string{StatusFailed}, time.Now().Add(time.Hour))
	require.NoError(t, err)
	assert.Empty(t, listed, "--since after the failure")

	// Any record, even an incomplete one, replaces a failure.
	r, err := NewRecord(bytes.ReplaceAll(readFixture(t, notReadyFixture), []byte(fixtureID), []byte(other)), "org-1", fetchedAt)
	require.NoError(t, err)
	assert.Equal(t, Written, upsert(t, table, r))
	stored, _, err = table.GetRecord(ctx, other)
	require.NoError(t, err)
	assert.Equal(t, StatusIncomplete, stored.Status)
}

func testRejectedItem(t *testing.T, table *Table) {
	good := fixtureRecord(t, completeFixture, fetchedAt)
	huge := good
	huge.ConversationID = "0b7e6a52-3c1d-4f2e-9a8b-7c6d5e4f3a21"
	huge.Detail = bytes.Repeat([]byte{1}, 500*1024) // past the 400 KB item limit, as no NewRecord makes
	outcomes, err := table.UpsertAll(context.Background(), []Record{good, huge})
	var rejected *RejectedError
	require.ErrorAs(t, err, &rejected)
	assert.Equal(t, []Outcome{Written, Rejected}, outcomes)
	assert.Contains(t, rejected.Reasons[huge.ConversationID], "ValidationException")
}

func testBatches(t *testing.T, api *dynamodb.Client) {
	ctx := context.Background()
	batches := NewBatches(api, "batches-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	require.NoError(t, batches.CreateTable(ctx))
	rec := BatchRecord{BatchID: "genesys-ingest-abc", Delivery: "sqs:1", StartedAt: "2026-11-30T10:00:00.000Z",
		FinishedAt: "2026-11-30T10:01:00.000Z", Received: 3, StoredComplete: 2, Failed: 1,
		Failures: []BatchFailure{{ConversationID: fixtureID, Reason: "400"}}, Submissions: 1, Runs: 1}
	require.NoError(t, batches.Put(ctx, rec))
	require.NoError(t, batches.Put(ctx, rec), "writing the same record again is harmless")
	old := rec
	old.BatchID, old.FinishedAt = "genesys-ingest-old", "2026-11-29T10:00:00.000Z"
	require.NoError(t, batches.Put(ctx, old))

	all, err := batches.List(ctx, time.Time{})
	require.NoError(t, err)
	assert.Equal(t, []BatchRecord{old, rec}, all)
	recent, err := batches.List(ctx, time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	assert.Equal(t, []BatchRecord{rec}, recent)
}

// upsert upserts the single record r.
func upsert(t *testing.T, table *Table, r Record) Outcome {
	t.Helper()
	outcomes, err := table.UpsertAll(context.Background(), []Record{r})
	require.NoError(t, err)
	require.Len(t, outcomes, 1)
	return outcomes[0]
}

func testUpsertMatrix(t *testing.T, table *Table) {
	ctx := context.Background()
	require.NoError(t, table.CreateTable(ctx), "creating an existing table must succeed")

	t0 := fetchedAt
	s := fixtureSnapshots(t)
	steps := []struct {
		name    string
		raw     []byte
		fetched time.Time
		want    Outcome
		// stored is the fetchedAt and status expected in the table afterwards.
		storedFetched time.Time
		storedStatus  string
	}{
		{"new incomplete is written", s.incomplete, t0, Written, t0, StatusIncomplete},
		{"same write again is unchanged", s.incomplete, t0, Unchanged, t0, StatusIncomplete},
		{"same content fetched later is unchanged", s.incomplete, t0.Add(time.Minute), Unchanged, t0, StatusIncomplete},
		{"older different incomplete is unchanged", s.incompleteLater, t0.Add(-time.Minute), Unchanged, t0, StatusIncomplete},
		{"newer different incomplete replaces incomplete", s.incompleteLater, t0.Add(2 * time.Minute), Written, t0.Add(2 * time.Minute), StatusIncomplete},
		{"complete replaces incomplete", s.complete, t0.Add(3 * time.Minute), Written, t0.Add(3 * time.Minute), StatusComplete},
		{"same complete again is unchanged", s.complete, t0.Add(3 * time.Minute), Unchanged, t0.Add(3 * time.Minute), StatusComplete},
		{"newer incomplete does not replace complete", s.incompleteLater, t0.Add(4 * time.Minute), Unchanged, t0.Add(3 * time.Minute), StatusComplete},
		{"older different complete does not replace complete", s.completeEdited, t0.Add(time.Minute), Unchanged, t0.Add(3 * time.Minute), StatusComplete},
		{"same complete fetched later is unchanged", s.complete, t0.Add(5 * time.Minute), Unchanged, t0.Add(3 * time.Minute), StatusComplete},
		{"newer different complete replaces complete", s.completeEdited, t0.Add(6 * time.Minute), Written, t0.Add(6 * time.Minute), StatusComplete},
	}
	for _, step := range steps {
		assert.Equal(t, step.want, upsert(t, table, snapshotRecord(t, step.raw, step.fetched)), step.name)

		stored, ok, err := table.GetRecord(ctx, fixtureID)
		require.NoError(t, err, step.name)
		require.True(t, ok, step.name)
		assert.Equal(t, step.storedFetched.Format(TimeFormat), stored.FetchedAt, step.name)
		assert.Equal(t, step.storedStatus, stored.Status, step.name)
	}

	item, ok, err := table.Get(ctx, fixtureID)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, json.RawMessage(s.completeEdited), item["detail"], "detail must be the last written conversation")
}

func testCompleteFetchedEarlier(t *testing.T, table *Table) {
	later := fixtureRecord(t, notReadyFixture, fetchedAt.Add(time.Minute))
	earlier := fixtureRecord(t, completeFixture, fetchedAt)

	first := upsert(t, table, later)
	second := upsert(t, table, earlier)

	assert.Equal(t, []Outcome{Written, Written}, []Outcome{first, second})
	stored, _, err := table.GetRecord(context.Background(), fixtureID)
	require.NoError(t, err)
	assert.True(t, stored.Complete())
}

func testOversizeRecordFits(t *testing.T, table *Table) {
	r, err := NewRecord(oversizeConversation(t), "org-1", fetchedAt)
	require.NoError(t, err)

	first := upsert(t, table, r) // dynalite enforces the 400 KB item limit
	again := upsert(t, table, r)

	assert.Equal(t, []Outcome{Written, Unchanged}, []Outcome{first, again})
	stored, _, err := table.GetRecord(context.Background(), r.ConversationID)
	require.NoError(t, err)
	assert.True(t, stored.DetailOmitted, "no detail bucket")
}

func testOversizeDetailInBucket(t *testing.T, table *Table) {
	ctx := context.Background()
	raw := oversizeConversation(t)
	r, err := NewRecord(raw, "org-1", fetchedAt)
	require.NoError(t, err)

	first := upsert(t, table, r)
	again := upsert(t, table, r)

	assert.Equal(t, []Outcome{Written, Unchanged}, []Outcome{first, again})
	stored, _, err := table.GetRecord(ctx, r.ConversationID)
	require.NoError(t, err)
	assert.False(t, stored.DetailOmitted)
	detail, err := table.Detail(ctx, stored)
	require.NoError(t, err)
	assert.Equal(t, raw, []byte(detail))
}

// testConversationTwiceInOneCall: both records are decided against the same
// read, so their writes race; whichever order they land in, complete wins.
func testConversationTwiceInOneCall(t *testing.T, table *Table) {
	ctx := context.Background()
	recs := []Record{fixtureRecord(t, notReadyFixture, fetchedAt.Add(time.Minute)), fixtureRecord(t, completeFixture, fetchedAt)}

	outcomes, err := table.UpsertAll(ctx, recs)

	require.NoError(t, err, "the read must name the conversation once")
	require.Len(t, outcomes, 2)
	assert.Equal(t, Written, outcomes[1])
	stored, _, err := table.GetRecord(ctx, fixtureID)
	require.NoError(t, err)
	assert.Equal(t, recs[1], withoutUpdatedAt(stored))
}

// testConcurrentUpserts: writers start together, each upserting one version
// of every conversation: the complete one, fetched first, or one of two
// incomplete ones fetched later, which must not replace it. Each version
// decides on the same read and then races; the losers read again.
func testConcurrentUpserts(t *testing.T, table *Table) {
	ctx := context.Background()
	const writers, conversations = 20, 25
	s := fixtureSnapshots(t)
	versions := []Record{
		snapshotRecord(t, s.complete, fetchedAt),
		snapshotRecord(t, s.incomplete, fetchedAt.Add(time.Minute)),
		snapshotRecord(t, s.incompleteLater, fetchedAt.Add(2*time.Minute)),
	}
	ids := make([]string, conversations)
	for i := range ids {
		ids[i] = fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
	}

	outcomes := make([][]Outcome, writers)
	errs := make([]error, writers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := range writers {
		recs := make([]Record, conversations)
		for i, id := range ids {
			recs[i] = versions[w%len(versions)]
			recs[i].ConversationID = id
		}
		wg.Go(func() {
			<-start
			outcomes[w], errs[w] = table.UpsertAll(ctx, recs)
		})
	}
	close(start)
	wg.Wait()

	for w := range writers {
		require.NoError(t, errs[w], "writer %d", w)
	}
	for i, id := range ids {
		stored, ok, err := table.GetRecord(ctx, id)
		require.NoError(t, err)
		require.True(t, ok, id)
		want := versions[0]
		want.ConversationID = id
		assert.Equal(t, want, withoutUpdatedAt(stored), id)
		completeWrites := 0
		for w := 0; w < writers; w += len(versions) {
			if outcomes[w][i] == Written {
				completeWrites++
			}
		}
		assert.Equal(t, 1, completeWrites, "%s: the same complete record is written once", id)
	}
}

func withoutUpdatedAt(r Record) Record {
	r.UpdatedAt = ""
	return r
}

// BenchmarkUpsertAllDynalite stores chunks of 100 conversations, as the
// worker does a fetched chunk, into dynalite, whose single-threaded CPU
// bounds local throughput: new conversations (a read, then 100 writes) and
// re-deliveries (a read only).
func BenchmarkUpsertAllDynalite(b *testing.B) {
	api, pid := startDynalite(b)
	table := NewTable(api, Config{TableName: "bench"})
	ctx := context.Background()
	require.NoError(b, table.CreateTable(ctx))
	template := fixtureRecord(b, completeFixture, fetchedAt)
	stored := 0
	// chunk is 100 records of conversations never stored before.
	chunk := func() []Record {
		recs := make([]Record, 100)
		for i := range recs {
			recs[i] = template
			recs[i].ConversationID = fmt.Sprintf("00000000-0000-4000-8000-%012d", stored)
			stored++
		}
		return recs
	}
	run := func(b *testing.B, recs func() []Record, want Outcome) {
		cpuBefore, cpuOK := processCPU(pid)
		items := 0
		for b.Loop() {
			batch := recs()
			outcomes, err := table.UpsertAll(ctx, batch)
			require.NoError(b, err)
			require.Equal(b, slices.Repeat([]Outcome{want}, len(batch)), outcomes)
			items += len(batch)
		}
		b.ReportMetric(float64(items)/b.Elapsed().Seconds(), "items/s")
		if cpuAfter, ok := processCPU(pid); ok && cpuOK {
			b.ReportMetric(float64((cpuAfter-cpuBefore).Microseconds())/1000/float64(items), "dynalite-ms/item")
		}
	}
	// dynalite runs on V8, whose JIT takes about a second of requests to
	// warm up; measured cold, the default 1 s run would mostly show that.
	for range 10 {
		warm := chunk()
		for range 2 { // written, then unchanged
			_, err := table.UpsertAll(ctx, warm)
			require.NoError(b, err)
		}
	}
	b.Run("new", func(b *testing.B) { run(b, chunk, Written) })
	b.Run("unchanged", func(b *testing.B) {
		again := chunk()
		_, err := table.UpsertAll(ctx, again)
		require.NoError(b, err)
		run(b, func() []Record { return again }, Unchanged)
	})
}

// processCPU is the CPU time process pid has used so far, read from
// /proc/<pid>/stat; false where there is no /proc.
func processCPU(pid int) (time.Duration, bool) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The command name, field 2, is parenthesised and may hold spaces;
	// after it come state (field 3) ... utime (14) and stime (15), in ticks
	// of 1/100 s (USER_HZ, fixed by the proc ABI).
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if len(fields) < 13 {
		return 0, false
	}
	utime, errU := strconv.ParseInt(fields[14-3], 10, 64)
	stime, errS := strconv.ParseInt(fields[15-3], 10, 64)
	if errU != nil || errS != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, true
}

// startDynalite runs the repository's in-memory dynalite on a free loopback
// port for the test and returns a client for it and its process id.
func startDynalite(t testing.TB) (*dynamodb.Client, int) {
	t.Helper()
	bin := filepath.Join(repoRoot(t), "node_modules", ".bin", "dynalite")
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("SKIPPING DYNALITE TEST: %s not found (%v); run `npm ci` in the repository root to test upserts against a real DynamoDB API", bin, err)
	}
	port := freePort(t)
	var output bytes.Buffer
	cmd := exec.Command(bin, "--host", "127.0.0.1", "--port", strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = &output, &output
	require.NoError(t, cmd.Start(), "start dynalite")
	// output may be read only once the process has been waited for.
	done := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(done) }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-done
	}
	t.Cleanup(stop)

	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for deadline := time.Now().Add(15 * time.Second); ; {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			break
		}
		select {
		case <-done:
			t.Fatalf("dynalite exited before listening (%v): %s", waitErr, output.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("dynalite did not listen on %s within 15s: %s", addr, output.String())
		}
	}

	return dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String("http://" + addr),
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	}), cmd.Process.Pid
}

// repoRoot walks up from the package directory to the go.mod.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, dir, parent, "no go.mod above the test directory")
		dir = parent
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
