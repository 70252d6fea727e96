package genesys

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFetch_NoIDsIsAnError(t *testing.T) {
	f := newFake(t, nil, respond(http.StatusOK, `{}`))
	_, err := f.client(t).FetchConversations(context.Background(), nil)
	require.ErrorContains(t, err, "no conversation ids")
	assert.Zero(t, f.tokenRequests.Load()+f.apiRequests.Load())
}

func TestFetch_EmptyIDIsAnError(t *testing.T) {
	f := newFake(t, nil, respond(http.StatusOK, `{}`))
	_, err := f.client(t).FetchConversations(context.Background(), []string{fixtureID, ""})
	require.ErrorContains(t, err, "conversation id 1 is empty")
	assert.Zero(t, f.apiRequests.Load())
}

func TestFetch_SingleIDUsesConversationDetailsPath(t *testing.T) {
	var path, rawQuery string
	f := newFake(t, nil, func(w http.ResponseWriter, r *http.Request) {
		path, rawQuery = r.URL.EscapedPath(), r.URL.RawQuery
		writeJSON(w, http.StatusOK, conversationJSON(fixtureID))
	})

	_, err := fetchOne(t, f.client(t))

	require.NoError(t, err)
	assert.Equal(t, "/api/v2/analytics/conversations/"+fixtureID+"/details", path)
	assert.Empty(t, rawQuery)
}

func TestFetch_SingleIDIsPathEscaped(t *testing.T) {
	var path string
	f := newFake(t, nil, func(w http.ResponseWriter, r *http.Request) {
		path = r.URL.EscapedPath()
		writeJSON(w, http.StatusNotFound, genesysError(404, "not.found", "no such conversation"))
	})

	_, err := fetchOne(t, f.client(t), "a/b?c")

	require.NoError(t, err)
	assert.Equal(t, "/api/v2/analytics/conversations/a%2Fb%3Fc/details", path)
}

func TestFetch_MultipleIDsAreOneCommaSeparatedQuery(t *testing.T) {
	var path, rawQuery string
	var ids []string
	f := newFake(t, nil, func(w http.ResponseWriter, r *http.Request) {
		path, rawQuery, ids = r.URL.Path, r.URL.RawQuery, r.URL.Query()["id"]
		writeJSON(w, http.StatusOK, `{"conversations":[]}`)
	})

	_, err := fetchOne(t, f.client(t), "a", "b", "c")

	require.NoError(t, err)
	assert.Equal(t, "/api/v2/analytics/conversations/details", path)
	assert.Equal(t, "id=a,b,c", rawQuery)
	assert.Equal(t, []string{"a,b,c"}, ids)
	assert.EqualValues(t, 1, f.apiRequests.Load())
}

func TestFetch_MultipleIDsAreQueryEscaped(t *testing.T) {
	var ids []string
	f := newFake(t, nil, func(w http.ResponseWriter, r *http.Request) {
		ids = r.URL.Query()["id"]
		writeJSON(w, http.StatusOK, `{"conversations":[]}`)
	})

	_, err := fetchOne(t, f.client(t), "a b", "c&d=e", "f,g")

	require.NoError(t, err)
	assert.Equal(t, []string{"a b,c&d=e,f,g"}, ids)
}

func TestFetch_SingleNotFoundIsEmptyResultWithoutError(t *testing.T) {
	f := newFake(t, nil, respond(http.StatusNotFound, genesysError(404, "not.found", "conversation not found"),
		"ININ-Correlation-Id", "corr-404", "inin-ratelimit-count", "3"))

	got, err := fetchOne(t, f.client(t))

	require.NoError(t, err)
	assert.NotNil(t, got.Conversations)
	assert.Empty(t, got.Conversations)
	assert.Equal(t, "corr-404", got.CorrelationID)
	assert.Equal(t, 3, got.RateLimit.Count)
}

func TestFetch_MultiGetNotFoundIsAnError(t *testing.T) {
	f := newFake(t, nil, respond(http.StatusNotFound, genesysError(404, "not.found", "no route")))

	_, err := fetchOne(t, f.client(t), fixtureID, otherID)

	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusNotFound, apiErr.Status)
	assert.False(t, apiErr.Retryable())
}

func TestFetch_MultiGetReturnsOnlyConversationsFound(t *testing.T) {
	f := newFake(t, nil, respond(http.StatusOK, `{"conversations":[`+conversationJSON(fixtureID)+`]}`))

	got, err := fetchOne(t, f.client(t), fixtureID, otherID)

	require.NoError(t, err)
	assert.Len(t, got.Conversations, 1)
	assert.Contains(t, got.Conversations, fixtureID)
	assert.NotContains(t, got.Conversations, otherID)
}

func TestFetch_MultiGetWithoutConversationsFieldIsEmpty(t *testing.T) {
	f := newFake(t, nil, respond(http.StatusOK, `{}`))

	got, err := fetchOne(t, f.client(t), fixtureID, otherID)

	require.NoError(t, err)
	assert.Empty(t, got.Conversations)
}

func TestFetch_DuplicateIDsAreHarmless(t *testing.T) {
	var rawQuery string
	f := newFake(t, nil, func(w http.ResponseWriter, r *http.Request) {
		rawQuery = r.URL.RawQuery
		writeJSON(w, http.StatusOK, `{"conversations":[`+conversationJSON(fixtureID)+`,`+conversationJSON(fixtureID)+`]}`)
	})

	got, err := fetchOne(t, f.client(t), fixtureID, fixtureID)

	require.NoError(t, err)
	assert.Equal(t, "id="+fixtureID+","+fixtureID, rawQuery)
	assert.Len(t, got.Conversations, 1)
}

func TestFetch_SingleKeepsFixtureBytesExactly(t *testing.T) {
	fixture := readFixture(t, "conversation-complete.json")
	f := newFake(t, nil, respond(http.StatusOK, string(fixture)))

	got, err := fetchOne(t, f.client(t))

	require.NoError(t, err)
	assert.Equal(t, fixture, []byte(got.Conversations[fixtureID]))
}

func TestFetch_MultiGetKeepsFixtureElementBytesExactly(t *testing.T) {
	fixture := readFixture(t, "multiget-response.json")
	// The multi-get fixture holds conversation-complete.json indented by
	// four more spaces, which gives the element's bytes independently of
	// the code under test.
	want := bytes.ReplaceAll(readFixture(t, "conversation-complete.json"), []byte("\n"), []byte("\n    "))
	require.True(t, bytes.Contains(fixture, want), "fixture relationship changed")
	f := newFake(t, nil, respond(http.StatusOK, string(fixture)))

	got, err := fetchOne(t, f.client(t), fixtureID, otherID)

	require.NoError(t, err)
	assert.Equal(t, want, []byte(got.Conversations[fixtureID]))
}

func TestFetch_RawBytesAreNotReencoded(t *testing.T) {
	// Escapes, number spellings and key order that a decode/encode round
	// trip would all change.
	first := `{ "z": 1.50, "conversationId" : "` + fixtureID + `", "name": "caf\u00e9 \/ <b>", "big": 12345678901234567890 }`
	second := "{\"conversationId\":\"" + otherID + "\",\n\t\"n\":1e3}"
	f := newFake(t, nil, respond(http.StatusOK, "{\"conversations\": [\n"+first+" ,\n"+second+"\n]}\n"))

	got, err := fetchOne(t, f.client(t), fixtureID, otherID)

	require.NoError(t, err)
	assert.Equal(t, first, string(got.Conversations[fixtureID]))
	assert.Equal(t, second, string(got.Conversations[otherID]))
}

func TestFetch_SingleRawBytesExcludeSurroundingWhitespace(t *testing.T) {
	body := conversationJSON(fixtureID)
	f := newFake(t, nil, respond(http.StatusOK, "\n "+body+"\n"))

	got, err := fetchOne(t, f.client(t))

	require.NoError(t, err)
	assert.Equal(t, body, string(got.Conversations[fixtureID]))
	assert.True(t, json.Valid(got.Conversations[fixtureID]))
}

func TestFetch_ReportsRateLimitHeadersAndCorrelationID(t *testing.T) {
	f := newFake(t, nil, respond(http.StatusOK, conversationJSON(fixtureID),
		"inin-ratelimit-count", "42", "inin-ratelimit-allowed", "300", "inin-ratelimit-reset", "17",
		"ININ-Correlation-Id", "corr-1"))

	got, err := fetchOne(t, f.client(t))

	require.NoError(t, err)
	assert.Equal(t, RateLimit{Count: 42, Allowed: 300, Reset: 17 * time.Second}, got.RateLimit)
	assert.Equal(t, "corr-1", got.CorrelationID)
}

func TestFetch_MissingRateLimitHeadersAreZero(t *testing.T) {
	f := newFake(t, nil, respond(http.StatusOK, conversationJSON(fixtureID), "inin-ratelimit-count", "lots"))

	got, err := fetchOne(t, f.client(t))

	require.NoError(t, err)
	assert.Zero(t, got.RateLimit)
}

func TestFetch_MalformedSuccessBodyWrapsErrMalformedResponse(t *testing.T) {
	tests := []struct {
		name string
		ids  []string
		body string
	}{
		{"single: not JSON", []string{fixtureID}, `<html>maintenance</html>`},
		{"single: empty", []string{fixtureID}, ``},
		{"single: truncated", []string{fixtureID}, `{"conversationId":"` + fixtureID + `","participants":[`},
		{"single: trailing garbage", []string{fixtureID}, conversationJSON(fixtureID) + `}`},
		{"single: array", []string{fixtureID}, `[` + conversationJSON(fixtureID) + `]`},
		{"single: null", []string{fixtureID}, `null`},
		{"single: string", []string{fixtureID}, `"` + fixtureID + `"`},
		{"multi: not JSON", []string{fixtureID, otherID}, `<html>maintenance</html>`},
		{"multi: empty", []string{fixtureID, otherID}, ``},
		{"multi: null", []string{fixtureID, otherID}, `null`},
		{"multi: top-level array", []string{fixtureID, otherID}, `[` + conversationJSON(fixtureID) + `]`},
		{"multi: truncated", []string{fixtureID, otherID}, `{"conversations":[` + conversationJSON(fixtureID) + `,{"conversationId":"`},
		{"multi: broken element", []string{fixtureID, otherID}, `{"conversations":[` + conversationJSON(fixtureID) + `,{"conversationId":"` + otherID + `",}]}`},
		{"multi: conversations not an array", []string{fixtureID, otherID}, `{"conversations":{}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, nil, respond(http.StatusOK, tc.body, "ININ-Correlation-Id", "corr-bad"))

			_, err := fetchOne(t, f.client(t), tc.ids...)

			require.ErrorIs(t, err, ErrMalformedResponse)
			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr)
			assert.True(t, apiErr.Retryable())
			assert.Equal(t, http.StatusOK, apiErr.Status)
			assert.Equal(t, "corr-bad", apiErr.CorrelationID)
		})
	}
}

func TestFetch_401RenewsTokenAndRepeatsOnce(t *testing.T) {
	var seen []string
	f := newFake(t, nil, func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Header.Get("Authorization"))
		if r.Header.Get("Authorization") == "Bearer access-token-1" {
			writeJSON(w, http.StatusUnauthorized, genesysError(401, "credentials.expired", "token expired"))
			return
		}
		writeJSON(w, http.StatusOK, conversationJSON(fixtureID))
	})

	got, err := fetchOne(t, f.client(t))

	require.NoError(t, err)
	assert.Contains(t, got.Conversations, fixtureID)
	assert.Equal(t, []string{"Bearer access-token-1", "Bearer access-token-2"}, seen)
	assert.EqualValues(t, 2, f.tokenRequests.Load())
}

func TestFetch_RenewedTokenIsKeptForLaterCalls(t *testing.T) {
	f := newFake(t, nil, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "Bearer access-token-1" {
			writeJSON(w, http.StatusUnauthorized, genesysError(401, "credentials.expired", "token expired"))
			return
		}
		writeJSON(w, http.StatusOK, conversationJSON(fixtureID))
	})
	c := f.client(t)

	for range 3 {
		_, err := fetchOne(t, c)
		require.NoError(t, err)
	}

	assert.EqualValues(t, 2, f.tokenRequests.Load())
	assert.EqualValues(t, 4, f.apiRequests.Load())
}

func TestFetch_Second401IsReturnedAsAPIError(t *testing.T) {
	f := newFake(t, nil, respond(http.StatusUnauthorized, genesysError(401, "bad.credentials", "Invalid login credentials.")))

	_, err := fetchOne(t, f.client(t))

	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusUnauthorized, apiErr.Status)
	assert.Equal(t, "bad.credentials", apiErr.Code)
	assert.False(t, apiErr.Retryable())
	assert.EqualValues(t, 2, f.apiRequests.Load(), "exactly one repeat")
	assert.EqualValues(t, 2, f.tokenRequests.Load())
}

func TestFetch_ConcurrentCallersHitting401RenewTokenOnce(t *testing.T) {
	var rejected atomic.Int64
	f := newFake(t, nil, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "Bearer access-token-1" {
			rejected.Add(1)
			writeJSON(w, http.StatusUnauthorized, genesysError(401, "credentials.expired", "token expired"))
			return
		}
		writeJSON(w, http.StatusOK, conversationJSON(fixtureID))
	})
	c := f.client(t)
	_, err := c.bearer(context.Background()) // every caller starts with token 1
	require.NoError(t, err)

	errs := make(chan error, 20)
	for range 20 {
		go func() {
			_, err := fetchOne(t, c)
			errs <- err
		}()
	}
	for range 20 {
		require.NoError(t, <-errs)
	}

	assert.EqualValues(t, 2, f.tokenRequests.Load())
}

func TestFetch_MultiGetBadElementDoesNotFailTheOthers(t *testing.T) {
	const unrequested = "0a1b2c3d-0000-4000-8000-000000000000"
	tests := []struct {
		name             string
		element          string
		wantInvalid      map[string]string
		wantUnattributed int
	}{
		{"null", `null`, nil, 1},
		{"number", `42`, nil, 1},
		{"array", `[` + conversationJSON(otherID) + `]`, nil, 1},
		{"string naming no requested id", `"` + unrequested + `"`, nil, 1},
		{"object without conversationId", `{"conversationStart":"2026-11-27T10:54:47.667Z"}`, nil, 1},
		{"null conversationId", `{"conversationId":null}`, nil, 1},
		{"empty conversationId", `{"conversationId":""}`, nil, 1},
		{"numeric conversationId", `{"conversationId":7}`, nil, 1},
		{"object conversationId", `{"conversationId":{"id":"` + otherID + `"}}`, nil, 1},
		{"conversation not requested", conversationJSON(unrequested), nil, 1},
		{"requested id in other case", conversationJSON(strings.ToUpper(otherID)), nil, 1},
		{"string naming a requested id", `"` + otherID + `"`,
			map[string]string{otherID: "element is the conversationId as a string, not an object"}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"conversations":[` + tc.element + `,` + conversationJSON(fixtureID) + `]}`
			f := newFake(t, nil, respond(http.StatusOK, body))

			got, err := fetchOne(t, f.client(t), fixtureID, otherID)

			require.NoError(t, err)
			assert.Equal(t, map[string]json.RawMessage{fixtureID: json.RawMessage(conversationJSON(fixtureID))}, got.Conversations)
			assert.Equal(t, tc.wantInvalid, got.Invalid)
			assert.Equal(t, tc.wantUnattributed, got.Unattributed)
		})
	}
}

func TestFetch_MultiGetUsableElementWinsOverInvalidOneForSameID(t *testing.T) {
	for name, elements := range map[string]string{
		"invalid first": `"` + otherID + `",` + conversationJSON(otherID),
		"usable first":  conversationJSON(otherID) + `,"` + otherID + `"`,
	} {
		t.Run(name, func(t *testing.T) {
			f := newFake(t, nil, respond(http.StatusOK, `{"conversations":[`+elements+`]}`))

			got, err := fetchOne(t, f.client(t), fixtureID, otherID)

			require.NoError(t, err)
			assert.Contains(t, got.Conversations, otherID)
			assert.Nil(t, got.Invalid)
			assert.Zero(t, got.Unattributed)
		})
	}
}

func TestFetch_MultiGetCountsEveryUnattributedElement(t *testing.T) {
	f := newFake(t, nil, respond(http.StatusOK,
		`{"conversations":[null,{},{"conversationId":1},`+conversationJSON(fixtureID)+`]}`))

	got, err := fetchOne(t, f.client(t), fixtureID, otherID)

	require.NoError(t, err)
	assert.Len(t, got.Conversations, 1)
	assert.Equal(t, 3, got.Unattributed)
}

func TestFetch_SingleObjectForNoOrAnotherConversationIsInvalid(t *testing.T) {
	tests := []struct {
		name, body, wantReason string
	}{
		{"no conversationId", `{"conversationStart":"2026-11-27T10:54:47.667Z"}`, "response has no conversationId"},
		{"empty conversationId", `{"conversationId":""}`, "response has no conversationId"},
		{"numeric conversationId", `{"conversationId":7}`, "response has a conversationId that is not a string"},
		{"multi-get shape", `{"conversations":[` + conversationJSON(fixtureID) + `]}`, "response has no conversationId"},
		{"another conversation", conversationJSON(otherID), `response is for conversation "` + otherID + `"`},
		{"another conversation with a long id", conversationJSON(strings.Repeat("x", 500)),
			`response is for conversation "` + strings.Repeat("x", 64) + `"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, nil, respond(http.StatusOK, tc.body))

			got, err := fetchOne(t, f.client(t))

			require.NoError(t, err)
			assert.Empty(t, got.Conversations)
			assert.Equal(t, map[string]string{fixtureID: tc.wantReason}, got.Invalid)
			assert.Zero(t, got.Unattributed)
		})
	}
}

func TestFetch_UnauthorizedForbiddenAndMultiGetNotFoundAreAPIErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		code   string
		ids    []string
	}{
		{"single 401", http.StatusUnauthorized, "bad.credentials", []string{fixtureID}},
		{"multi 401", http.StatusUnauthorized, "bad.credentials", []string{fixtureID, otherID}},
		{"single 403", http.StatusForbidden, "missing.any.permissions", []string{fixtureID}},
		{"multi 403", http.StatusForbidden, "missing.any.permissions", []string{fixtureID, otherID}},
		{"multi 404", http.StatusNotFound, "not.found", []string{fixtureID, otherID}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, nil, respond(tc.status, genesysError(tc.status, tc.code, "nope"), "ININ-Correlation-Id", "corr-x"))

			got, err := fetchOne(t, f.client(t), tc.ids...)

			assert.Nil(t, got)
			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tc.status, apiErr.Status)
			assert.Equal(t, tc.code, apiErr.Code)
			assert.Equal(t, "corr-x", apiErr.CorrelationID)
			assert.NotErrorIs(t, err, ErrMalformedResponse)
		})
	}
}
