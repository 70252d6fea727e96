package activities

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genesys-ingest/genesys-ingest/activities/genesys"
	"github.com/genesys-ingest/genesys-ingest/simulator"
	"github.com/genesys-ingest/genesys-ingest/workflows"
)

// countingBytes counts the bytes of the responses it serves.
type countingBytes struct {
	http.Handler
	bytes atomic.Int64
}

func (c *countingBytes) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.Handler.ServeHTTP(countingWriter{w, &c.bytes}, r)
}

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (w countingWriter) Write(b []byte) (int, error) {
	w.n.Add(int64(len(b)))
	return w.ResponseWriter.Write(b)
}

// TestCostOfEachDetailSource fetches the same 1,000 simulated conversations
// through each source, in the chunks of 100 the scheduler makes, and
// counts what the simulator served: the numbers the notes compare (go test
// -run CostOfEachDetailSource -v ./activities).
func TestCostOfEachDetailSource(t *testing.T) {
	const conversations, chunk = 1000, workflows.MaxFetchBatchSize
	for _, source := range DetailSources {
		t.Run(string(source), func(t *testing.T) {
			sim, err := simulator.New(simulator.Config{Seed: 7, Conversations: conversations, History: conversations,
				ClientID: "cost-client", ClientSecret: "cost-secret"})
			require.NoError(t, err)
			served := &countingBytes{Handler: sim}
			server := httptest.NewServer(served)
			t.Cleanup(server.Close)
			client, err := genesys.New(genesys.Config{APIBaseURL: server.URL, LoginBaseURL: server.URL,
				ClientID: "cost-client", ClientSecret: "cost-secret", Timeout: 10 * time.Second})
			require.NoError(t, err)
			st := &fakeStore{}
			f := &Fetcher{Genesys: client, Store: st, Source: source}

			gen := simulator.NewGenerator(7, simulator.DefaultBaseTime)
			truths := make(map[string]simulator.Expected, conversations)
			var all []workflows.ConversationRef
			for i := range conversations {
				want := gen.Generate(i).Expected
				truths[want.ConversationID] = want
				at, err := time.Parse(time.RFC3339, want.FirstEventAt)
				require.NoError(t, err)
				all = append(all, workflows.ConversationRef{ID: want.ConversationID, OrgID: "org", Topic: want.LastEventTopic, EventTime: at.UnixMilli()})
			}
			for refs := range slices.Chunk(all, chunk) {
				res, err := execute(t, f, workflows.FetchRequest{Conversations: refs})
				require.NoError(t, err)
				require.Equal(t, len(refs), res.StoredComplete, "every conversation found and stored")
			}

			counters := sim.Counters()
			requests := counters.Requests
			perConversation := float64(requests) / conversations
			t.Logf("%s: %d API requests (+%d token) for %d conversations: %.3f requests and %.1f KB of responses per conversation",
				source, requests, counters.TokenRequests, conversations, perConversation, float64(served.bytes.Load())/conversations/1024)
			assert.EqualValues(t, conversations/chunk, requests, "one request per chunk of 100")

			require.Len(t, st.written, conversations)
			for _, rec := range st.written {
				want := truths[rec.ConversationID]
				if source == SourceQuery {
					assert.Equal(t, want.ParticipantAttributes, rec.ParticipantAttributes, rec.ConversationID)
				} else {
					assert.Nil(t, rec.ParticipantAttributes, "the multi-get returns none")
				}
			}
		})
	}
}
