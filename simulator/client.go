package simulator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Client drives a running simulator's control API (/sim/...). The demo,
// integration tests and benchmarks use it; Genesys endpoints are for the
// project's real Genesys client.
type Client struct {
	BaseURL string
	HTTP    *http.Client
}

// NewClient returns a client for the simulator at baseURL.
func NewClient(baseURL string) *Client {
	return &Client{BaseURL: baseURL, HTTP: &http.Client{Timeout: 2 * time.Minute}}
}

// Emit hands out the events of the next conversations.
func (c *Client) Emit(ctx context.Context, req EmitRequest) (EmitResult, error) {
	var res EmitResult
	return res, c.do(ctx, http.MethodPost, "/sim/emit", req, &res)
}

// Counters reads the request counters.
func (c *Client) Counters(ctx context.Context) (Counters, error) {
	var res Counters
	return res, c.do(ctx, http.MethodGet, "/sim/counters", nil, &res)
}

// ResetCounters zeroes the counters.
func (c *Client) ResetCounters(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/sim/counters/reset", nil, nil)
}

// UpdateSettings applies a partial settings update such as
// {"rateLimitPerMinute": 20} or {"absentFor": "3s"}.
func (c *Client) UpdateSettings(ctx context.Context, patch map[string]any) error {
	return c.do(ctx, http.MethodPost, "/sim/settings", patch, nil)
}

// GroundTruth returns what the simulator generated for one conversation.
func (c *Client) GroundTruth(ctx context.Context, id string) (GroundTruth, error) {
	var res GroundTruth
	return res, c.do(ctx, http.MethodGet, "/sim/conversations/"+id+"/expected", nil, &res)
}

// Catalog returns the org, queue, division, wrap-up code and user ids the
// conversations are drawn from.
func (c *Client) Catalog(ctx context.Context) (Catalog, error) {
	var res Catalog
	return res, c.do(ctx, http.MethodGet, "/sim/catalog", nil, &res)
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("simulator %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("simulator %s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(msg))
	}
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("simulator %s %s: decode: %w", method, path, err)
	}
	return nil
}
