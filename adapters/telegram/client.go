package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	tele "gopkg.in/telebot.v3"

	"github.com/helpdeskd/helpdeskd/gateway"
)

// apiTimeout bounds one Bot API call other than a long poll.
const apiTimeout = 30 * time.Second

// redactedToken stands for the bot token in every error the client returns.
const redactedToken = "<token>"

// client calls the Bot API through telebot, with calls that end when the gateway closes.
//
// Every error it returns has the token taken out: telebot puts the token in the request
// URL (…/bot<TOKEN>/method), net/http quotes that URL in every transport error, and those
// errors reach the log and a notification's lastError, which every staff user can read.
type client struct {
	bot  *tele.Bot
	http *http.Client
	// secrets are the forms the token can take in an error text: as given and escaped.
	secrets []string
	// health follows the answers (nil: not followed).
	health *health
}

func newClient(apiURL, token string, base *http.Client, lifetime context.Context) (*client, error) {
	if base == nil {
		base = &http.Client{}
	}
	transport := base.Transport
	if transport == nil {
		transport = http.DefaultTransport
	}
	hc := &http.Client{Transport: &lifetimeTransport{base: transport, lifetime: lifetime}, Timeout: base.Timeout}
	if hc.Timeout == 0 {
		hc.Timeout = 2 * time.Minute
	}
	bot, err := tele.NewBot(tele.Settings{URL: strings.TrimRight(apiURL, "/"), Token: token, Client: hc, Offline: true,
		Poller: &tele.LongPoller{}, OnError: func(error, tele.Context) {}})
	if err != nil {
		return nil, fmt.Errorf("telegram bot: %w", err)
	}
	secrets := []string{token}
	for _, esc := range []string{url.PathEscape(token), url.QueryEscape(token)} {
		if esc != token {
			secrets = append(secrets, esc)
		}
	}
	return &client{bot: bot, http: hc, secrets: secrets}, nil
}

// redact removes the token from s.
func (c *client) redact(s string) string {
	for _, secret := range c.secrets {
		s = strings.ReplaceAll(s, secret, redactedToken)
	}
	return s
}

// scrub returns err without the token in its text. The result still unwraps to the types
// callers look for (tele.FloodError, *url.Error, net errors), but never to an error whose
// own text spells the token: fmt.Errorf wrappers fix their text when made, so the chain is
// cut below them, and a *url.Error's URL is redacted in place.
func (c *client) scrub(err error) error {
	if err == nil {
		return nil
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = c.redact(ue.URL)
	}
	msg := err.Error()
	clean := c.redact(msg)
	if clean == msg {
		return err
	}
	inner := errors.Unwrap(err)
	for inner != nil && c.redact(inner.Error()) != inner.Error() {
		inner = errors.Unwrap(inner)
	}
	return &redactedError{msg: clean, err: inner}
}

// redactedError is an error whose text had the token in it.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// lifetimeTransport cancels every request when the gateway's lifetime ends: telebot's
// calls take no context, and a long poll must not hold up shutdown.
type lifetimeTransport struct {
	base     http.RoundTripper
	lifetime context.Context
}

func (t *lifetimeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(req.Context())
	stop := context.AfterFunc(t.lifetime, cancel)
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		stop()
		cancel()
		return nil, err
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, done: func() { stop(); cancel() }}
	return resp, nil
}

type cancelBody struct {
	io.ReadCloser
	done func()
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.done()
	return err
}

// apiError is a Bot API refusal as the API states it.
type apiError struct {
	Code        int
	Description string
	RetryAfter  time.Duration
	// Answered is set when the refusal came in an answer (not a failed connection): an
	// answer of Code 0 is not in the Bot API's shape, such as an emulator's "method not
	// supported".
	Answered bool
	err      error
}

func (e *apiError) Error() string {
	if e.Code == 0 {
		return "telegram: " + e.err.Error()
	}
	return fmt.Sprintf("telegram: %s (%d)", e.Description, e.Code)
}
func (e *apiError) Unwrap() error { return e.err }

// call runs a Bot API method with a JSON payload and decodes its result into out (may be
// nil). A refusal is returned as *apiError.
func (c *client) call(method string, payload map[string]any, out any) error {
	if payload == nil {
		payload = map[string]any{} // the emulator's JSON parser refuses "null"
	}
	data, err := c.bot.Raw(method, payload)
	err = c.callError(data, c.scrub(err))
	if c.health != nil {
		c.health.observe(err)
	}
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	var resp struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(data, &resp); err != nil {
		return fmt.Errorf("decode %s result: %w", method, c.scrub(err))
	}
	if err := json.Unmarshal(resp.Result, out); err != nil {
		return fmt.Errorf("decode %s result: %w", method, c.scrub(err))
	}
	return nil
}

// callError is the *apiError of a refused call (nil when err is).
func (c *client) callError(data []byte, err error) error {
	if err != nil {
		var resp struct {
			Code        int    `json:"error_code"`
			Description string `json:"description"`
			Parameters  struct {
				RetryAfter int `json:"retry_after"`
			} `json:"parameters"`
		}
		_ = json.Unmarshal(data, &resp)
		var fe tele.FloodError
		if errors.As(err, &fe) && resp.Parameters.RetryAfter == 0 {
			resp.Parameters.RetryAfter = fe.RetryAfter
		}
		// A proxy in front of the API may echo the request line in its description.
		return &apiError{Code: resp.Code, Description: c.redact(resp.Description), RetryAfter: time.Duration(resp.Parameters.RetryAfter) * time.Second,
			Answered: len(data) > 0, err: err}
	}
	return nil
}

// deliveryError says what a failed send means to the dispatcher: a 429 is "wait this long",
// a refusal no retry can mend (blocked by the user, chat not found, kicked, a bad request)
// is permanent, anything else (network, 5xx) is tried again later.
func deliveryError(err error) error {
	var ae *apiError
	if !errors.As(err, &ae) {
		return err
	}
	switch {
	case ae.Code == http.StatusTooManyRequests:
		after := ae.RetryAfter
		if after <= 0 {
			after = time.Second
		}
		return &gateway.RetryAfterError{After: after, Err: err}
	case ae.Code == http.StatusForbidden, ae.Code == http.StatusBadRequest:
		return gateway.Permanent(err)
	}
	return err
}

// download fetches a file the bot received, reading at most limit+1 bytes; the bool says
// whether it was larger than limit.
func (c *client) download(fileID string, limit int64) ([]byte, bool, error) {
	rc, err := c.bot.File(&tele.File{FileID: fileID})
	if err != nil {
		return nil, false, fmt.Errorf("download file: %w", c.scrub(err))
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, false, fmt.Errorf("download file: %w", c.scrub(err))
	}
	if int64(len(data)) > limit {
		return nil, true, nil
	}
	return data, false, nil
}
