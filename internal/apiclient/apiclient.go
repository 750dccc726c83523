// Package apiclient talks to a running yujing's HTTP API for the command
// line (yujing sensors, yujing tail): a base URL, a bearer token, JSON or
// raw request bodies, and errors that tell "nobody answered" from "the API
// said no" and carry what the API said.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxAnswer bounds what is read of an answer.
const maxAnswer = 64 << 20

// Client sends requests to one yujing.
type Client struct {
	base  string // scheme://host[:port][/prefix], no trailing slash
	token string
	hc    *http.Client
}

// New returns a client of the yujing at raw (http://HOST:PORT, a path
// prefix allowed; "HOST:PORT" means http). token, when not empty, is sent
// as Authorization: Bearer.
func New(raw, token string) (*Client, error) {
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("want http://HOST:PORT, got %q", raw)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawQuery, u.Fragment = "", ""
	return &Client{base: u.String(), token: token, hc: &http.Client{Timeout: 30 * time.Second}}, nil
}

// Base is the URL requests go to, without a trailing slash.
func (c *Client) Base() string { return c.base }

// UnreachableError says no server answered at the URL.
type UnreachableError struct {
	URL string
	Err error
}

func (e *UnreachableError) Error() string { return fmt.Sprintf("no answer from %s: %v", e.URL, e.Err) }
func (e *UnreachableError) Unwrap() error { return e.Err }

// StatusError is an answer with an error status: the API's message (its
// JSON "error", else the start of the body) and the whole body, for
// answers that carry more than a message (the import's 422 carries its
// plan).
type StatusError struct {
	Status int
	Msg    string
	Body   []byte
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("HTTP %d", e.Status)
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	switch e.Status {
	case http.StatusUnauthorized:
		s += " (give an API token with -token or YUJING_TOKEN)"
	case http.StatusForbidden:
		s += " (the token's role may not do this)"
	}
	return s
}

// Do sends a request with in as its JSON body (when not nil) and decodes
// the JSON answer into out (when not nil).
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	if in == nil {
		return c.Send(ctx, method, path, "", nil, out)
	}
	b, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	return c.Send(ctx, method, path, "application/json", b, out)
}

// Send sends body as it is, of contentType (none when body is nil), and
// decodes the JSON answer into out (when not nil).
func (c *Client) Send(ctx context.Context, method, path, contentType string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil && contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &UnreachableError{URL: c.base, Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(data))
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			msg = e.Error
		} else if len(msg) > 200 {
			msg = strings.ToValidUTF8(msg[:200], "") + "…"
		}
		return &StatusError{Status: resp.StatusCode, Msg: msg, Body: data}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: the answer is not the JSON expected: %w", method, path, err)
		}
	}
	return nil
}
