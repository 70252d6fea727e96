package store

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
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
	api := startDynalite(t)
	newTable := func(t *testing.T) *Table {
		table := NewTable(api, Config{TableName: strings.ReplaceAll(t.Name(), "/", "-")})
		require.NoError(t, table.CreateTable(context.Background()))
		return table
	}
	t.Run("matrix", func(t *testing.T) { testUpsertMatrix(t, newTable(t)) })
	t.Run("complete fetched earlier replaces incomplete", func(t *testing.T) { testCompleteFetchedEarlier(t, newTable(t)) })
	t.Run("oversize record fits", func(t *testing.T) { testOversizeRecordFits(t, newTable(t)) })
}

func testUpsertMatrix(t *testing.T, table *Table) {
	ctx := context.Background()
	require.NoError(t, table.CreateTable(ctx), "creating an existing table must succeed")

	t0 := fetchedAt
	incomplete := readFixture(t, notReadyFixture)
	// A later snapshot of the open conversation: one metric has grown.
	incompleteLater := bytes.Replace(incomplete, []byte(`"value": 312456`), []byte(`"value": 312999`), 1)
	complete := readFixture(t, completeFixture)
	// The same closed conversation after its wrap-up code was corrected.
	completeEdited := bytes.Replace(complete, []byte(fixtureWrapUp), []byte("0b0b0b0b-0000-4000-8000-000000000009"), 1)
	require.NotEqual(t, incomplete, incompleteLater)
	require.NotEqual(t, complete, completeEdited)

	steps := []struct {
		name    string
		raw     []byte
		fetched time.Time
		want    Outcome
		// stored is the fetchedAt and status expected in the table afterwards.
		storedFetched time.Time
		storedStatus  string
	}{
		{"new incomplete is written", incomplete, t0, Written, t0, StatusIncomplete},
		{"same write again is unchanged", incomplete, t0, Unchanged, t0, StatusIncomplete},
		{"same content fetched later is unchanged", incomplete, t0.Add(time.Minute), Unchanged, t0, StatusIncomplete},
		{"older different incomplete is unchanged", incompleteLater, t0.Add(-time.Minute), Unchanged, t0, StatusIncomplete},
		{"newer different incomplete replaces incomplete", incompleteLater, t0.Add(2 * time.Minute), Written, t0.Add(2 * time.Minute), StatusIncomplete},
		{"complete replaces incomplete", complete, t0.Add(3 * time.Minute), Written, t0.Add(3 * time.Minute), StatusComplete},
		{"same complete again is unchanged", complete, t0.Add(3 * time.Minute), Unchanged, t0.Add(3 * time.Minute), StatusComplete},
		{"newer incomplete does not replace complete", incompleteLater, t0.Add(4 * time.Minute), Unchanged, t0.Add(3 * time.Minute), StatusComplete},
		{"older different complete does not replace complete", completeEdited, t0.Add(time.Minute), Unchanged, t0.Add(3 * time.Minute), StatusComplete},
		{"same complete fetched later is unchanged", complete, t0.Add(5 * time.Minute), Unchanged, t0.Add(3 * time.Minute), StatusComplete},
		{"newer different complete replaces complete", completeEdited, t0.Add(6 * time.Minute), Written, t0.Add(6 * time.Minute), StatusComplete},
	}
	for _, s := range steps {
		r, err := NewRecord(s.raw, "org-1", s.fetched)
		require.NoError(t, err, s.name)

		outcome, err := table.Upsert(ctx, r)
		require.NoError(t, err, s.name)
		assert.Equal(t, s.want, outcome, s.name)

		stored, ok, err := table.GetRecord(ctx, fixtureID)
		require.NoError(t, err, s.name)
		require.True(t, ok, s.name)
		assert.Equal(t, s.storedFetched.Format(TimeFormat), stored.FetchedAt, s.name)
		assert.Equal(t, s.storedStatus, stored.Status, s.name)
	}

	item, ok, err := table.Get(ctx, fixtureID)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, json.RawMessage(completeEdited), item["detail"], "detail must be the last written conversation")
}

func testCompleteFetchedEarlier(t *testing.T, table *Table) {
	ctx := context.Background()
	later := fixtureRecord(t, notReadyFixture, fetchedAt.Add(time.Minute))
	earlier := fixtureRecord(t, completeFixture, fetchedAt)

	first, err := table.Upsert(ctx, later)
	require.NoError(t, err)
	second, err := table.Upsert(ctx, earlier)
	require.NoError(t, err)

	assert.Equal(t, []Outcome{Written, Written}, []Outcome{first, second})
	stored, _, err := table.GetRecord(ctx, fixtureID)
	require.NoError(t, err)
	assert.True(t, stored.Complete())
}

func testOversizeRecordFits(t *testing.T, table *Table) {
	ctx := context.Background()
	r, err := NewRecord(oversizeConversation(t), "org-1", fetchedAt)
	require.NoError(t, err)

	first, err := table.Upsert(ctx, r)
	require.NoError(t, err, "dynalite enforces the 400 KB item limit")
	again, err := table.Upsert(ctx, r)
	require.NoError(t, err)

	assert.Equal(t, []Outcome{Written, Unchanged}, []Outcome{first, again})
	stored, _, err := table.GetRecord(ctx, r.ConversationID)
	require.NoError(t, err)
	assert.True(t, stored.DetailOmitted)
}

// startDynalite runs the repository's in-memory dynalite on a free loopback
// port for the test and returns a client for it.
func startDynalite(t *testing.T) *dynamodb.Client {
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
	})
}

// repoRoot walks up from the package directory to the go.mod.
func repoRoot(t *testing.T) string {
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

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
