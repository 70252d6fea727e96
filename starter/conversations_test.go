package main

import (
	"bytes"
	"context"
	"encoding/json"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genesys-ingest/genesys-ingest/activities/store"
)

// fakeReader serves one item; its detail in the bucket is bucketDetail.
type fakeReader struct {
	item         map[string]any
	bucketDetail json.RawMessage
	read         []store.Record
}

func (f *fakeReader) Name() string { return "conversations" }

func (f *fakeReader) Get(context.Context, string) (map[string]any, bool, error) {
	return f.item, f.item != nil, nil
}

func (f *fakeReader) Detail(_ context.Context, r store.Record) (json.RawMessage, error) {
	f.read = append(f.read, r)
	return f.bucketDetail, nil
}

const conversationID = "5e8d1c3a-9f7b-4b2e-8c61-0d4f7a2b9e10"

func printed(t *testing.T, r *fakeReader, detail bool) map[string]any {
	t.Helper()
	var out bytes.Buffer
	require.NoError(t, printConversation(context.Background(), r, conversationID, detail, &out))
	var item map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &item))
	return item
}

func TestGetPrintsTheDetailFromTheItemOnlyWithDetail(t *testing.T) {
	inline := func() *fakeReader {
		return &fakeReader{item: map[string]any{"conversationId": conversationID, "detail": json.RawMessage(`{"conversationId":"x"}`)}}
	}

	assert.Equal(t, "(gzipped analytics record; --detail decodes it)", printed(t, inline(), false)["detail"])
	assert.Equal(t, map[string]any{"conversationId": "x"}, printed(t, inline(), true)["detail"])
}

func TestGetReadsTheDetailFromTheBucketWithDetail(t *testing.T) {
	r := &fakeReader{
		item:         map[string]any{"conversationId": conversationID, "detailBucket": "details", "detailKey": "org/2026-11-30/c/ab.json.gz"},
		bucketDetail: json.RawMessage(`{"conversationId":"from-s3"}`),
	}

	assert.Equal(t, "(gzipped analytics record in s3://details/org/2026-11-30/c/ab.json.gz; --detail reads it)", printed(t, r, false)["detail"])
	assert.Empty(t, r.read, "nothing downloaded without --detail")
	assert.Equal(t, map[string]any{"conversationId": "from-s3"}, printed(t, r, true)["detail"])
	assert.Equal(t, []store.Record{{ConversationID: conversationID, DetailBucket: "details", DetailKey: "org/2026-11-30/c/ab.json.gz"}}, r.read)
}

func TestGetOfAConversationNotStoredIsAnError(t *testing.T) {
	err := printConversation(context.Background(), &fakeReader{}, conversationID, false, &bytes.Buffer{})
	assert.ErrorContains(t, err, "is not stored in table conversations")
}

func TestListWithDayGoesToTheIndexAndChecksItsFlagsFirst(t *testing.T) {
	assert.True(t, hasFlag([]string{"--json", "--day", "2026-11-30"}, "day"))
	assert.True(t, hasFlag([]string{"-day=2026-11-30"}, "day"))
	assert.False(t, hasFlag([]string{"--status", "failed", "--", "--day"}, "day"))
	assert.False(t, hasFlag([]string{"--days", "3"}, "day"))

	t.Setenv("GENESYS_ORG_ID", "")
	for args, want := range map[string]string{
		"--day 30/11/2026 --org o":                  `--day "30/11/2026": want a YYYY-MM-DD date`,
		"--day 2026-11-30":                          "--day needs --org",
		"--day 2026-11-30 --org o --status failed":  `--status "failed": with --day, want complete or incomplete`,
		"--day 2026-11-30 --org o --status nothing": `--status "nothing"`,
	} {
		_, _, code := runCLI(t, "", append([]string{"conversations", "list"}, strings.Fields(args)...)...)
		assert.Equal(t, 2, code, args)
		err := listDay(context.Background(), strings.Fields(args), &bytes.Buffer{})
		assert.ErrorContains(t, err, want, args)
	}
}

func dayConversations(cs ...store.DayConversation) iter.Seq2[store.DayConversation, error] {
	return func(yield func(store.DayConversation, error) bool) {
		for _, c := range cs {
			if !yield(c, nil) {
				return
			}
		}
	}
}

func TestPrintDayPrintsATableOrJSONLines(t *testing.T) {
	duration := int64(343110)
	cs := []store.DayConversation{
		{ConversationID: "c-1", ConversationStart: "2026-11-30T10:54:47.667Z", Status: "complete", MediaType: "voice",
			OriginatingDirection: "inbound", DurationMs: &duration, HandleTimeMs: 326747, QueueIDs: []string{"q-1", "q-2"},
			Agents: []store.Agent{{UserID: "u-1"}}, Transfers: 1},
		{ConversationID: "c-2", ConversationStart: "2026-11-30T11:00:00.000Z", Status: "incomplete", Abandoned: true},
	}

	var table bytes.Buffer
	require.NoError(t, printDay(dayConversations(cs...), false, &table))
	lines := strings.Split(strings.TrimSpace(table.String()), "\n")
	require.Len(t, lines, 4)
	assert.Equal(t, []string{"c-1", "2026-11-30T10:54:47.667Z", "complete", "voice", "inbound", "5m43s", "5m27s", "1", "1", "false", "q-1,q-2"},
		strings.Fields(lines[1]))
	assert.Equal(t, []string{"c-2", "2026-11-30T11:00:00.000Z", "incomplete", "-", "0s", "0", "0", "true"}, strings.Fields(lines[2]))
	assert.Equal(t, "2 conversations", lines[3])

	var jsonLines bytes.Buffer
	require.NoError(t, printDay(dayConversations(cs...), true, &jsonLines))
	dec := json.NewDecoder(&jsonLines)
	var first map[string]any
	require.NoError(t, dec.Decode(&first))
	assert.Equal(t, "c-1", first["conversationId"])
	assert.Equal(t, float64(326747), first["handleTimeMs"])
	assert.True(t, dec.More())
}

func TestMigrateCheckpointRoundTripsAndStartsEmpty(t *testing.T) {
	path := filepath.Join(t.TempDir(), "checkpoint.json")
	p, err := readCheckpoint(path)
	require.NoError(t, err)
	assert.Equal(t, store.DayKeyProgress{}, p)

	want := store.DayKeyProgress{After: "c-100", Scanned: 100, Updated: 97, Skipped: 3}
	require.NoError(t, writeCheckpoint(path, want))
	got, err := readCheckpoint(path)
	require.NoError(t, err)
	assert.Equal(t, want, got)

	require.NoError(t, os.WriteFile(path, []byte("{"), 0o644))
	_, err = readCheckpoint(path)
	assert.ErrorContains(t, err, "delete it to start over")
}
