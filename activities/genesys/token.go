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
		c.previous, c.token = tok, accessToken{}
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
	if c.token.value != "" {
		c.previous = c.token.value
	}
	c.token = tok
	c.mu.Unlock()
	if c.hooks.tokenRenewed != nil {
		c.hooks.tokenRenewed()
	}
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
		return accessToken{}, newTokenError(r, c.redactor())
	}
	var t tokenResponse
	err = json.Unmarshal(r.body, &t)
	if err == nil {
		err = t.validate()
	}
	if err != nil {
		// The body's access_token, if it has one, is a credential too: the
		// detail could quote it.
		return accessToken{}, malformedTokenError(r, err, c.redactor(Secret(t.AccessToken)))
	}
	lifetime := time.Duration(t.ExpiresIn) * time.Second
	return accessToken{
		value:     Secret(t.AccessToken),
		refreshAt: issued.Add(lifetime - min(maxRefreshMargin, lifetime/10)),
	}, nil
}

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

func (t tokenResponse) validate() error {
	switch {
	case t.AccessToken == "":
		return errors.New("no access_token")
	case t.TokenType != "" && !strings.EqualFold(t.TokenType, "bearer"):
		return fmt.Errorf("token_type %q is not bearer", t.TokenType)
	case t.ExpiresIn <= 0:
		return fmt.Errorf("expires_in %d is not positive", t.ExpiresIn)
	}
	return nil
}
