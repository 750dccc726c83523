package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"sync"

	"yujing"

	"yujing/store"
)

// CallStore is what the API needs of call-and-answer (escalate.Engine):
// the calls made about an alert, shown with the alert, and the taker of
// the receipts providers call back with (stored against their calls; a
// reply or a key press may answer one).
type CallStore interface {
	CallsFor(ctx context.Context, alertID int64) ([]store.CallRecord, error)
	Receipt(ctx context.Context, r yujing.Receipt) error
}

// Calls gives the API the calls made about each alert (the "calls" of
// GET /api/v1/alerts/{id}) and serves provider callbacks at
// POST /api/v1/callbacks/{channel} for the channels registered with
// HandleReceipts. Build it with NewCalls and set Options.Calls.
type Calls struct {
	st      CallStore
	mu      sync.RWMutex
	parsers map[string]ReceiptParser
}

// NewCalls serves the calls and receipts kept by st.
func NewCalls(st CallStore) *Calls {
	return &Calls{st: st, parsers: map[string]ReceiptParser{}}
}

// ReceiptParser turns one provider callback request into receipts. It gets
// the request with its body limited to MaxCallbackBody; an error is
// answered 400 with the error's text, so it must not reveal secrets.
type ReceiptParser interface {
	ParseReceipts(r *http.Request) ([]yujing.Receipt, error)
}

// Acker is implemented by a ReceiptParser whose provider expects a
// particular answer to a callback it delivered; others get {"ok":true}.
type Acker interface {
	Ack() (contentType string, body []byte)
}

// MaxCallbackBody bounds a provider callback's body.
const MaxCallbackBody = 1 << 20

// BodyReceipts adapts a channel's ParseReceipts(body []byte) and the
// answer its provider expects (e.g. aliyunsms.ReceiptAck, "" for
// {"ok":true}) to a ReceiptParser.
func BodyReceipts(parse func(body []byte) ([]yujing.Receipt, error), ack string) ReceiptParser {
	return bodyParser{parse: parse, ack: ack}
}

type bodyParser struct {
	parse func([]byte) ([]yujing.Receipt, error)
	ack   string
}

func (p bodyParser) ParseReceipts(r *http.Request) ([]yujing.Receipt, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	return p.parse(body)
}

func (p bodyParser) Ack() (string, []byte) {
	if p.ack == "" {
		return "", nil
	}
	return "application/json; charset=utf-8", []byte(p.ack)
}

// HandleReceipts serves provider callbacks for a channel at
// POST /api/v1/callbacks/{channel}: the request is parsed by p and every
// receipt stored in the CallStore. It refuses an empty name, a nil parser,
// and a channel registered twice.
//
// TODO(auth issue): the endpoint takes no credentials yet. Each provider's
// callback must check its own signature (or shared token) in its parser
// before this is exposed beyond a trusted network.
func (c *Calls) HandleReceipts(channel string, p ReceiptParser) error {
	if channel == "" || p == nil {
		return errors.New("web: receipts: channel name and parser are required")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, dup := c.parsers[channel]; dup {
		return fmt.Errorf("web: receipts: channel %q registered twice", channel)
	}
	c.parsers[channel] = p
	return nil
}

// ReceiptChannels lists the channels with a callback endpoint, sorted.
func (c *Calls) ReceiptChannels() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return slices.Sorted(maps.Keys(c.parsers))
}

func (c *Calls) parser(channel string) ReceiptParser {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.parsers[channel]
}

func (s *Server) callback(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("channel")
	p := s.opts.Calls.parser(name)
	if p == nil {
		writeError(w, http.StatusNotFound, fmt.Errorf("no callback endpoint for channel %q", name))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxCallbackBody)
	rs, err := p.ParseReceipts(r)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("callback body over %d bytes", MaxCallbackBody))
			return
		}
		writeError(w, http.StatusBadRequest, fmt.Errorf("channel %s: %w", name, err))
		return
	}
	for _, rc := range rs {
		if rc.Channel == "" {
			rc.Channel = name
		}
		if err := s.opts.Calls.st.Receipt(r.Context(), rc); err != nil {
			// Not acknowledged: the provider pushes it again later.
			s.opts.Logger.Error("receipt not stored", "channel", name, "call_id", rc.CallID, "err", err)
			writeError(w, http.StatusInternalServerError, errors.New("receipt not stored; try again"))
			return
		}
	}
	if a, ok := p.(Acker); ok {
		if ct, body := a.Ack(); body != nil {
			w.Header().Set("Content-Type", ct)
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(body)
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// callsFor returns the calls about an alert for its detail view: an empty
// list when no calls are wired.
func (s *Server) callsFor(ctx context.Context, alertID int64) ([]store.CallRecord, error) {
	if s.opts.Calls == nil {
		return []store.CallRecord{}, nil
	}
	cs, err := s.opts.Calls.st.CallsFor(ctx, alertID)
	if cs == nil {
		cs = []store.CallRecord{}
	}
	return cs, err
}
