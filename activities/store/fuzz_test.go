package store_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"

	"github.com/genesys-ingest/genesys-ingest/activities/store"
	"github.com/genesys-ingest/genesys-ingest/internal/fixtures"
)

// FuzzNewRecord checks the mapping of an analytics conversation to its item:
// it never panics, and either fails with an error that says what it could
// not read (and for which conversation, once the id is known) or returns a
// record that keeps the input's conversationId, is complete exactly when the
// input has a conversationEnd and no segment without segmentEnd, and whose
// detail gunzips to the input byte for byte unless it is too large for the
// item and bound for the detail bucket.
//
// The corpus starts from testdata/analytics/*.json: each file as it is, and
// each conversation of a multiget response on its own.
func FuzzNewRecord(f *testing.F) {
	paths, err := filepath.Glob(filepath.Join(fixtures.Dir(f), "analytics", "*.json"))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no analytics fixtures (%v)", err)
	}
	fetched := time.Date(2026, 11, 27, 11, 5, 0, 0, time.UTC).UnixMilli()
	for _, path := range paths {
		raw, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw, "org-1", fetched)
		var multiget struct {
			Conversations []json.RawMessage `json:"conversations"`
		}
		if json.Unmarshal(raw, &multiget) == nil {
			for _, c := range multiget.Conversations {
				f.Add([]byte(c), "", fetched)
			}
		}
	}
	for _, raw := range []string{
		`null`, `{}`, `[]`, `{"conversationId":"c-1"}`,
		`{"conversationId":"c-1","conversationStart":"2026-11-27T10:00:00.000Z","conversationEnd":"2026-11-27T09:00:00Z"}`,
		`{"conversationId":"c-1","conversationStart":"2026-11-27T10:00:00.000Z","participants":[{"purpose":"agent","sessions":[{"metrics":[{"name":"tHandle","value":1.5}]}]}]}`,
	} {
		f.Add([]byte(raw), "org-1", fetched)
	}

	f.Fuzz(func(t *testing.T, raw []byte, orgID string, fetchedMs int64) {
		fetchedAt := time.UnixMilli(fetchedMs)
		r, err := store.NewRecord(raw, orgID, fetchedAt)

		var in struct {
			ConversationID  string `json:"conversationId"`
			ConversationEnd string `json:"conversationEnd"`
			Participants    []struct {
				Sessions []struct {
					Segments []struct {
						SegmentEnd string `json:"segmentEnd"`
					} `json:"segments"`
				} `json:"sessions"`
			} `json:"participants"`
		}
		inErr := json.Unmarshal(raw, &in)
		if err != nil {
			msg := err.Error()
			switch {
			case inErr != nil || in.ConversationID == "":
				if !strings.HasPrefix(msg, "parse analytics conversation: ") || len(msg) == len("parse analytics conversation: ") {
					t.Fatalf("error for an unreadable conversation or one without id: %q", msg)
				}
			case !strings.HasPrefix(msg, "conversation "+in.ConversationID+": ") || len(msg) == len("conversation "+in.ConversationID+": "):
				t.Fatalf("error for conversation %q does not name it and what is wrong: %q", in.ConversationID, msg)
			}
			return
		}
		if inErr != nil {
			t.Fatalf("NewRecord accepted what encoding/json cannot read (%v): %q", inErr, raw)
		}
		if in.ConversationID == "" || r.ConversationID != in.ConversationID {
			t.Fatalf("record conversation id %q, input's %q", r.ConversationID, in.ConversationID)
		}
		open := false
		for _, p := range in.Participants {
			for _, s := range p.Sessions {
				for _, g := range s.Segments {
					open = open || g.SegmentEnd == ""
				}
			}
		}
		if (in.ConversationEnd != "") != (r.DurationMs != nil) {
			t.Fatalf("conversationEnd %q but duration %v", in.ConversationEnd, r.DurationMs)
		}
		switch r.Status {
		case store.StatusComplete:
			if in.ConversationEnd == "" || open {
				t.Fatalf("complete without conversationEnd %q or with a segment still open", in.ConversationEnd)
			}
		case store.StatusIncomplete:
			if in.ConversationEnd != "" && !open {
				t.Fatalf("incomplete with conversationEnd %q and every segment closed", in.ConversationEnd)
			}
		default:
			t.Fatalf("status %q", r.Status)
		}
		if r.OrgID != orgID || r.FetchedAt != fetchedAt.UTC().Format(store.TimeFormat) {
			t.Fatalf("org %q fetchedAt %q, want %q %s", r.OrgID, r.FetchedAt, orgID, fetchedAt.UTC())
		}
		switch {
		case r.DetailOmitted:
			t.Fatalf("NewRecord dropped the detail; only a table without a detail bucket may")
		case r.DetailKey != "":
			if r.Detail != nil {
				t.Fatalf("detail moved to %s but %d bytes kept in the item", r.DetailKey, len(r.Detail))
			}
		default:
			detail, err := store.DecodeDetail(r.Detail)
			if err != nil {
				t.Fatalf("detail does not decode: %v", err)
			}
			if !bytes.Equal(detail, raw) {
				t.Fatalf("detail decodes to %.200q, not the input %.200q", detail, raw)
			}
		}
		for name, set := range map[string][]string{"divisionIds": r.DivisionIDs, "queueIds": r.QueueIDs, "userIds": r.UserIDs, "wrapUpCodes": r.WrapUpCodes} {
			if set != nil && (len(set) == 0 || slices.Contains(set, "") || !slices.IsSorted(set) || len(slices.Compact(slices.Clone(set))) != len(set)) {
				t.Fatalf("%s is not a sorted set of distinct non-empty ids: %q", name, set)
			}
		}
		if _, err := attributevalue.MarshalMap(r); err != nil {
			t.Fatalf("record does not marshal to an item: %v", err)
		}
	})
}
