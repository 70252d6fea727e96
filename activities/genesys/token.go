package genesys

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

const (
	tokenPath     = "/oauth/token"
	tokenEndpoint = http.MethodPost + " " + tokenPath
	// maxRefreshMargin caps how early a token is renewed; shorter-lived
	// tokens are renewed when a tenth of their lifetime remains.
	maxRefreshMargin = 5 * time.Minute
)

// accessToken is the cached bearer token. refreshAt is set before the real
// expiry so that a request never leaves with a token that expires in flight.
type accessToken struct {
	value     Secret
	refreshAt time.Time
}

// bearer returns a token that is not due for renewal, requesting one if
// needed. Concurrent callers share a single token request, which runs
// detached from any one caller's cancellation so that the first caller
// giving up does not fail everybody else waiting on it.
func (c *Client) bearer(ctx context.Context) (Secret, error) {
	if tok, ok := c.cachedToken(); ok {
		return tok, nil
	}
	flight := c.flight.DoChan("token", func() (any, error) {
		return c.renewToken(context.WithoutCancel(ctx))
	})
	select {
	case <-ctx.Done():
		return "", fmt.Errorf("genesys: waiting for access token: %w", ctx.Err())
	case res := <-flight:
		if res.Err != nil {
			return "", res.Err
		}
		return res.Val.(Secret), nil
	}
}

func (c *Client) cachedToken() (Secret, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token.value == "" || !c.now().Before(c.token.refreshAt) {
		return "", false
	}
	return c.token.value, true
}

// invalidate drops tok after the API rejected it, unless another goroutine
// has already replaced it; dropping the replacement would cost a second
// token request.
func (c *Client) invalidate(tok Secret) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token.value == tok {
		c.token = accessToken{}
	}
}

func (c *Client) renewToken(ctx context.Context) (Secret, error) {
	// A flight that ended between our cache check and this flight's start
	// has already stored a fresh token.
	if tok, ok := c.cachedToken(); ok {
		return tok, nil
	}
	tok, err := c.requestToken(ctx)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	c.token = tok
	c.mu.Unlock()
	return tok.value, nil
}

func (c *Client) requestToken(ctx context.Context) (accessToken, error) {
	issued := c.now()
	basic := base64.StdEncoding.EncodeToString([]byte(c.clientID + ":" + c.secret.Reveal()))
	r, err := c.do(ctx, call{
		method:        http.MethodPost,
		url:           c.loginBase + tokenPath,
		endpoint:      tokenEndpoint,
		route:         tokenEndpoint,
		authorization: Secret("Basic " + basic),
		form:          "grant_type=client_credentials",
	})
	if err != nil {
		return accessToken{}, err
	}
	if !success(r.status) {
		r.body = scrub(r.body, c.secret)
		return accessToken{}, newTokenError(r)
	}
	tok, err := parseToken(r.body, issued)
	if err != nil {
		return accessToken{}, malformedTokenError(r, err)
	}
	return tok, nil
}

func parseToken(body []byte, issued time.Time) (accessToken, error) {
	var t struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &t); err != nil {
		return accessToken{}, err
	}
	switch {
	case t.AccessToken == "":
		return accessToken{}, errors.New("no access_token")
	case t.TokenType != "" && !strings.EqualFold(t.TokenType, "bearer"):
		return accessToken{}, fmt.Errorf("token_type %q is not bearer", t.TokenType)
	case t.ExpiresIn <= 0:
		return accessToken{}, fmt.Errorf("expires_in %d is not positive", t.ExpiresIn)
	}
	lifetime := time.Duration(t.ExpiresIn) * time.Second
	return accessToken{
		value:     Secret(t.AccessToken),
		refreshAt: issued.Add(lifetime - min(maxRefreshMargin, lifetime/10)),
	}, nil
}
