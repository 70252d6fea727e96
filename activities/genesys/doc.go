// Package genesys is a small net/http client for the two Genesys Cloud
// calls this service needs: an OAuth client-credentials token and the
// analytics conversation-detail fetch.
//
// # One call, one request
//
// FetchConversations, FetchConversationsByQuery (the same records through
// the details query, with participant attributes) and
// QueryConversationDetails make exactly one analytics request per call. The
// only extra traffic is the token request when the shared token is missing
// or about to expire, and a single repeat of the analytics request after a
// 401 with a freshly issued token. Keeping that ratio fixed means a Temporal
// task-queue rate limit on the activity that calls FetchConversations is the
// request rate Genesys sees, so the org's per-token limit (300 requests per
// minute by default) can be respected by configuration alone, across any
// number of workers.
//
// For the same reason the client has no retry loop: a hidden retry would
// break that ratio and would sleep inside an activity instead of letting
// Temporal schedule the next attempt durably. Callers map errors to retry
// decisions:
//
//   - *APIError and *TokenError: Retryable reports whether another attempt
//     can succeed; a non-zero RetryAfter is the wait Genesys asked for.
//   - A 2xx body that is not the documented JSON object is an *APIError (or
//     *TokenError) wrapping ErrMalformedResponse; it is retryable. A bad
//     conversation inside a well-formed response is not an error: it is
//     reported per id in Fetched.Invalid, or counted in
//     Fetched.Unattributed when it names no requested id.
//   - A body larger than the read limit wraps ErrResponseTooLarge; asking for
//     fewer conversations per call is the fix, not a retry.
//   - An error wrapping the caller's context.Canceled or
//     context.DeadlineExceeded means the caller gave up.
//   - Any other error (connection refused, reset, per-request timeout) is
//     transient.
//
// The official Go SDK is not used: it has no context support, is not safe
// for concurrent use and takes minutes to build.
//
// Credentials are typed as Secret so that printing, logging or serialising a
// Config never reveals them. Every error the client returns, whether built
// from a response or from net/http, is scrubbed of the client secret, the
// id:secret pair and its base64 forms, the current and previous access
// tokens, and the userinfo of any URL, in case a server, proxy or redirect
// echoes them.
package genesys
