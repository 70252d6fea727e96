package integration

// This file is named zz_ so that its test runs last: `go test` runs a
// package's tests in the order of their source files' names, then in
// declaration order within a file. By the time
// TestNoSecretInAnyLogHistoryItemOrMetric scans, every other integration
// test has run and written its logs, workflow histories and items.

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/genesys-ingest/genesys-ingest/activities/store"
	"github.com/genesys-ingest/genesys-ingest/devstack"
)

// The credentials devstack hands the simulator and the worker (devstack's
// simulatorClientID and simulatorClientSecret, which are unexported).
const (
	scanClientID     = "sim-client"
	scanClientSecret = "sim-secret"
)

// A Temporal API key is not checked: the local dev server takes none, and
// devstack removes TEMPORAL_API_KEY from the worker's and the forwarder's
// environment, so no run of this stack ever holds one.

// logOffsets are the sizes of the integration stack's log files before this
// test binary started it. devstack appends to them across runs, so the scan
// reads only what this run wrote. Package variables are initialised before
// TestMain runs, hence before the stack is started.
var logOffsets = func() map[string]int64 {
	out := map[string]int64{}
	paths, err := devstack.FindPaths()
	if err != nil {
		return out
	}
	_ = filepath.WalkDir(integrationLogDir(paths), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				out[path] = info.Size()
			}
		}
		return nil
	})
	return out
}()

// integrationLogDir is where TestMain sends the stack's logs.
func integrationLogDir(p devstack.Paths) string { return p.Logs + "/integration" }

// TestNoSecretInAnyLogHistoryItemOrMetric runs batches while the simulator
// forces 401s, so the worker renews its access token more than once, then
// scans everything the run left behind (every log file of the stack, every
// workflow history in the namespace, every item of both tables and the
// worker's /metrics) for the client secret in every spelling and for every
// access token the simulator ever issued.
//
// The simulator's tokens are 32 random bytes in unpadded URL-safe base64
// (43 characters) and it has no endpoint that lists them, but it remembers
// every token it issued, expired ones included, and answers a request
// carrying an unknown one 401 bad.credentials, any issued one something
// else. So the scan collects every 43-character window of URL-safe base64
// that could be such a token and asks the simulator about each: any that it
// recognises is a leaked token, whichever it was.
func TestNoSecretInAnyLogHistoryItemOrMetric(t *testing.T) {
	ctx := context.Background()
	counters0, err := sim().Counters(ctx)
	require.NoError(t, err)

	// Phase 1: the next two /api requests answer 401 whatever token they
	// carry. The first makes the worker drop its token and renew; the
	// retry with the new token gets the second, which the client returns
	// ("401 twice"), and the activity retries.
	require.NoError(t, sim().UpdateSettings(ctx, map[string]any{"forceUnauthorized": 2}))
	t.Cleanup(func() { _ = sim().UpdateSettings(context.Background(), map[string]any{"forceUnauthorized": 0}) })
	driveForSecrets(t, 12)
	counters1, err := sim().Counters(ctx)
	require.NoError(t, err)
	require.GreaterOrEqual(t, counters1.Unauthorized-counters0.Unauthorized, int64(2), "forced 401s were answered")
	require.GreaterOrEqual(t, counters1.TokenRequests-counters0.TokenRequests, int64(1), "a forced 401 made the worker renew its token")

	// Phase 2: every token issued so far is expired; the worker gets 401
	// credentials.expired and renews again.
	require.NoError(t, sim().UpdateSettings(ctx, map[string]any{"expireTokensNow": true}))
	driveForSecrets(t, 12)
	counters2, err := sim().Counters(ctx)
	require.NoError(t, err)
	require.Greater(t, counters2.Unauthorized, counters1.Unauthorized, "the expired token was refused")
	require.GreaterOrEqual(t, counters2.TokenRequests-counters1.TokenRequests, int64(1), "the expired token was renewed")
	// Nothing resets the counters in this package, so they cover the
	// simulator's whole life; throttled token requests issue nothing.
	tokensIssued := counters2.TokenRequests - counters2.TokenThrottled
	require.GreaterOrEqual(t, tokensIssued, int64(2), "more than one token exists")
	time.Sleep(time.Second) // let the services' last log lines land

	// Collect everything the run left behind.
	var sources []scanned
	logs := collectLogs(t)
	sources = append(sources, logs...)
	histories := collectHistories(t, ctx)
	sources = append(sources, histories...)
	conversations := collectItems(t, ctx, store.DefaultTableName)
	sources = append(sources, conversations...)
	batches := collectItems(t, ctx, store.DefaultBatchTableName)
	sources = append(sources, batches...)
	metrics := collectMetrics(t, ctx)
	sources = append(sources, metrics)

	require.NotEmpty(t, logs, "no log file of this run was scanned")
	require.NotEmpty(t, histories, "no workflow history was scanned")
	require.NotEmpty(t, conversations, "no conversation item was scanned")
	require.NotEmpty(t, batches, "no batch item was scanned")
	require.NotEmpty(t, metrics.text, "the worker's /metrics was empty")
	require.Contains(t, metrics.text, "# TYPE", "the worker's /metrics is not Prometheus text")

	// The client secret in every spelling.
	forms := secretForms(scanClientID, scanClientSecret)
	var leaks []string
	var scannedBytes int
	for _, s := range sources {
		scannedBytes += len(s.text)
		for _, f := range forms {
			if i := strings.Index(s.text, f.value); i >= 0 {
				leaks = append(leaks, fmt.Sprintf("%s: %s at byte %d: …%s…", s.where, f.name, i, excerpt(s.text, i, len(f.value), "["+f.name+"]")))
			}
		}
	}

	// Every access token the simulator issued.
	candidates := map[string]string{} // candidate → first place it was seen
	for _, s := range sources {
		for _, c := range tokenCandidates(s.text) {
			if _, ok := candidates[c]; !ok {
				candidates[c] = s.where
			}
		}
	}
	known := probeTokens(t, ctx, slices.Collect(maps.Keys(candidates)))
	for _, c := range known {
		where := candidates[c]
		leaks = append(leaks, fmt.Sprintf("%s: an access token the simulator issued (%s…)", where, c[:6]))
	}

	// Controls: the oracle and the candidate search would find a token if
	// one were there. Done after the scan, so this token cannot be in it.
	fresh := issueToken(t, ctx)
	require.Contains(t, tokenCandidates("x Bearer "+fresh+"\n"), fresh)
	require.Contains(t, tokenCandidates(`{"a":"zz`+fresh+`zz"}`), fresh, "a token inside a longer run is found")
	require.Equal(t, []string{fresh}, probeTokens(t, ctx, []string{fresh, randomTokenShape(t)}),
		"the simulator recognises an issued token and only that")

	t.Logf("scanned %d log files (%d histories of workflows, %d conversation items, %d batch items, the worker's /metrics): %d bytes in all;"+
		" %d secret spellings; %d token-shaped candidates probed against the simulator, which issued %d tokens (%d 401s answered)",
		len(logs), len(histories), len(conversations), len(batches), scannedBytes,
		len(forms), len(candidates), tokensIssued, counters2.Unauthorized)
	sort.Strings(leaks)
	assert.Empty(t, leaks, "secrets leaked")
}

func driveForSecrets(t *testing.T, conversations int) {
	t.Helper()
	report, err := devstack.Drive(context.Background(), stack.Endpoints, devstack.DriveOptions{Conversations: conversations, EventsPerDelivery: 6})
	require.NoError(t, err)
	require.Empty(t, report.Missing)
	require.Zero(t, report.Failed)
	require.Equal(t, conversations, report.StoredComplete)
}

// scanned is one text the scan reads and where it came from.
type scanned struct {
	where string
	text  string
}

// secretForm is one spelling of the credentials.
type secretForm struct{ name, value string }

// secretForms are the client secret raw and URL-encoded, the id:secret pair
// raw and URL-encoded, the pair's base64 in the four variants with and
// without the Basic scheme, and the secret's own base64 at each of the three
// byte alignments in both alphabets: the last catch the secret inside any
// base64 text (a Basic header, a bytes field), whatever came before it.
func secretForms(id, secret string) []secretForm {
	pair := id + ":" + secret
	forms := []secretForm{
		{"client secret", secret},
		{"client secret URL-encoded", url.QueryEscape(secret)},
		{"id:secret", pair},
		{"id:secret URL-encoded", url.QueryEscape(pair)},
	}
	for _, enc := range []struct {
		name string
		e    *base64.Encoding
	}{{"std", base64.StdEncoding}, {"url", base64.URLEncoding}, {"raw std", base64.RawStdEncoding}, {"raw url", base64.RawURLEncoding}} {
		b := enc.e.EncodeToString([]byte(pair))
		forms = append(forms, secretForm{"Basic header (" + enc.name + ")", "Basic " + b}, secretForm{"base64(id:secret) " + enc.name, b})
	}
	for _, enc := range []struct {
		name string
		e    *base64.Encoding
	}{{"std", base64.RawStdEncoding}, {"url", base64.RawURLEncoding}} {
		for k := range 3 {
			// Characters fully determined by the secret's bits when k
			// other bytes precede it.
			b := enc.e.EncodeToString(append(make([]byte, k), secret...))
			from, to := (8*k+5)/6, 8*(k+len(secret))/6
			forms = append(forms, secretForm{fmt.Sprintf("base64 of secret (%s, offset %d)", enc.name, k), b[from:to]})
		}
	}
	// Drop duplicates (the variants coincide when the pair's base64 has
	// no "+", "/" or padding).
	seen := map[string]bool{}
	out := forms[:0]
	for _, f := range forms {
		if !seen[f.value] {
			seen[f.value] = true
			out = append(out, f)
		}
	}
	return out
}

func excerpt(text string, i, n int, mask string) string {
	from, to := max(0, i-60), min(len(text), i+n+60)
	return strings.ReplaceAll(text[from:i]+mask+text[i+n:to], "\n", "⏎")
}

// The simulator's tokens are base64.RawURLEncoding of 32 bytes: 43
// characters, the last of which carries 4 bits and two zero bits, so it is
// one of these 16.
const (
	tokenLength    = 43
	tokenLastChars = "AEIMQUYcgkosw048"
)

var base64URLRun = regexp.MustCompile(`[A-Za-z0-9_-]{43,}`)

// tokenCandidates are the distinct 43-character windows of every run of
// URL-safe base64 in text that could be one of the simulator's tokens.
func tokenCandidates(text string) []string {
	seen := map[string]bool{}
	var out []string
	for _, run := range base64URLRun.FindAllString(text, -1) {
		for i := 0; i+tokenLength <= len(run); i++ {
			w := run[i : i+tokenLength]
			if strings.IndexByte(tokenLastChars, w[tokenLength-1]) < 0 || seen[w] {
				continue
			}
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

// probeTokens returns the candidates the simulator recognises as tokens it
// issued: for an unknown one it answers 401 bad.credentials, for any token
// it issued something else (credentials.expired, a rate limit, the API's
// answer).
func probeTokens(t *testing.T, ctx context.Context, candidates []string) []string {
	t.Helper()
	var (
		mu    sync.Mutex
		known []string
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for _, c := range candidates {
		g.Go(func() error {
			req, err := http.NewRequestWithContext(gctx, http.MethodGet,
				stack.Endpoints.Simulator+"/api/v2/analytics/conversations/secret-scan-probe/details", nil)
			if err != nil {
				return err
			}
			req.Header.Set("Authorization", "Bearer "+c)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			var body struct {
				Code string `json:"code"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode == http.StatusUnauthorized && body.Code == "bad.credentials" {
				return nil
			}
			mu.Lock()
			known = append(known, c)
			mu.Unlock()
			return nil
		})
	}
	require.NoError(t, g.Wait())
	sort.Strings(known)
	return known
}

// issueToken gets a token from the simulator as the worker does.
func issueToken(t *testing.T, ctx context.Context) string {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, stack.Endpoints.Simulator+"/oauth/token",
		strings.NewReader("grant_type=client_credentials"))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(scanClientID, scanClientSecret)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tok))
	require.Len(t, tok.AccessToken, tokenLength, "the simulator's token scheme changed; update tokenCandidates")
	return tok.AccessToken
}

func randomTokenShape(t *testing.T) string {
	var b [32]byte
	_, err := rand.Read(b[:])
	require.NoError(t, err)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// collectLogs reads what this run appended to every log file of the
// integration stack.
func collectLogs(t *testing.T) []scanned {
	t.Helper()
	paths, err := devstack.FindPaths()
	require.NoError(t, err)
	dir := integrationLogDir(paths)
	var out []scanned
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if off := logOffsets[path]; off <= int64(len(b)) {
			b = b[off:]
		}
		if len(b) == 0 {
			return nil // not written by this run
		}
		rel, _ := filepath.Rel(paths.Root, path)
		out = append(out, scanned{where: rel, text: string(b)})
		return nil
	})
	require.NoError(t, err)
	return out
}

// collectHistories exports every workflow execution in the namespace: its
// listing (memo, search attributes) and every event of its history as
// protojson, followed by every bytes field of them (payloads of inputs,
// results, failures, markers, headers) decoded, gunzipped where gzipped.
func collectHistories(t *testing.T, ctx context.Context) []scanned {
	t.Helper()
	c := temporalClient(t)
	var out []scanned
	var page []byte
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{PageSize: 1000, NextPageToken: page})
		require.NoError(t, err)
		for _, info := range resp.GetExecutions() {
			id, run := info.GetExecution().GetWorkflowId(), info.GetExecution().GetRunId()
			var b strings.Builder
			writeProto(t, &b, info)
			iter := c.GetWorkflowHistory(ctx, id, run, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
			events := 0
			for iter.HasNext() {
				event, err := iter.Next()
				require.NoError(t, err, "history of %s", id)
				writeProto(t, &b, event)
				events++
			}
			require.Positive(t, events, "history of %s", id)
			out = append(out, scanned{where: "history of workflow " + id + " run " + run, text: b.String()})
		}
		if page = resp.GetNextPageToken(); len(page) == 0 {
			break
		}
	}
	return out
}

func writeProto(t *testing.T, b *strings.Builder, m proto.Message) {
	t.Helper()
	j, err := protojson.Marshal(m)
	require.NoError(t, err)
	b.Write(j)
	b.WriteByte('\n')
	for _, raw := range bytesFields(m.ProtoReflect()) {
		b.WriteString(decoded(raw))
		b.WriteByte('\n')
	}
}

// bytesFields returns every bytes field anywhere in m: payload data and
// metadata above all.
func bytesFields(m protoreflect.Message) [][]byte {
	var out [][]byte
	if p, ok := m.Interface().(*commonpb.Payload); ok {
		out = append(out, p.GetData())
		for k, v := range p.GetMetadata() {
			out = append(out, []byte(k), v)
		}
		return out
	}
	visit := func(fd protoreflect.FieldDescriptor, v protoreflect.Value) {
		switch fd.Kind() {
		case protoreflect.MessageKind, protoreflect.GroupKind:
			out = append(out, bytesFields(v.Message())...)
		case protoreflect.BytesKind:
			out = append(out, v.Bytes())
		}
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList():
			for i := range v.List().Len() {
				visit(fd, v.List().Get(i))
			}
		case fd.IsMap():
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				visit(fd.MapValue(), mv)
				return true
			})
		default:
			visit(fd, v)
		}
		return true
	})
	return out
}

// decoded is b as text, gunzipped first when it is gzip.
func decoded(b []byte) string {
	if len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
		if zr, err := gzip.NewReader(bytes.NewReader(b)); err == nil {
			if plain, err := io.ReadAll(zr); err == nil {
				return string(b) + "\n" + string(plain)
			}
		}
	}
	return string(b)
}

// collectItems scans a whole table; each item becomes its attributes as
// text, binary ones (the gzipped analytics detail) decoded.
func collectItems(t *testing.T, ctx context.Context, tableName string) []scanned {
	t.Helper()
	db := devstack.LocalDynamoDB(stack.Endpoints.DynamoDB)
	var out []scanned
	var start map[string]types.AttributeValue
	for {
		resp, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: &tableName, ExclusiveStartKey: start})
		require.NoError(t, err, "scan %s", tableName)
		for _, item := range resp.Items {
			var b strings.Builder
			writeAttributes(&b, item)
			key := ""
			for _, name := range []string{store.PartitionKey, store.BatchKey} {
				if s, ok := item[name].(*types.AttributeValueMemberS); ok {
					key += " " + name + "=" + s.Value
				}
			}
			out = append(out, scanned{where: "item of " + tableName + key, text: b.String()})
		}
		if start = resp.LastEvaluatedKey; len(start) == 0 {
			break
		}
	}
	return out
}

func writeAttributes(b *strings.Builder, item map[string]types.AttributeValue) {
	for name, v := range item {
		b.WriteString(name)
		b.WriteString(": ")
		writeAttribute(b, v)
		b.WriteByte('\n')
	}
}

func writeAttribute(b *strings.Builder, v types.AttributeValue) {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		b.WriteString(v.Value)
	case *types.AttributeValueMemberN:
		b.WriteString(v.Value)
	case *types.AttributeValueMemberB:
		b.WriteString(decoded(v.Value))
	case *types.AttributeValueMemberSS:
		b.WriteString(strings.Join(v.Value, "\n"))
	case *types.AttributeValueMemberNS:
		b.WriteString(strings.Join(v.Value, "\n"))
	case *types.AttributeValueMemberBS:
		for _, x := range v.Value {
			b.WriteString(decoded(x))
			b.WriteByte('\n')
		}
	case *types.AttributeValueMemberL:
		for _, x := range v.Value {
			writeAttribute(b, x)
			b.WriteByte('\n')
		}
	case *types.AttributeValueMemberM:
		writeAttributes(b, v.Value)
	default:
		fmt.Fprintf(b, "%v", v)
	}
}

func collectMetrics(t *testing.T, ctx context.Context) scanned {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, stack.Endpoints.WorkerMetrics+"/metrics", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return scanned{where: "worker /metrics", text: string(b)}
}
