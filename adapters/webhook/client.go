package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
)

// maxAnswerBytes is how much of an endpoint's answer is read (kept in the delivery log):
// an endpoint cannot make the desk read without bound.
const maxAnswerBytes = 4 << 10

// MaxPayloadBytes bounds a delivery's body: the payload renderer cuts a long message's
// text to fit (httpapi.WebhookPayload), and a body still larger is not sent.
const MaxPayloadBytes = 256 << 10

// errPrivate says a connection was refused because of where it led.
var errPrivate = errors.New("private address")

// newClient returns the HTTP client of deliveries: a timeout on the whole exchange, no
// redirects (a 3xx is an answer, and a failure), no proxy from the environment, and —
// unless allowPrivate — a dialer that refuses loopback, link-local and private addresses
// after resolution, at connect time, so that a name which resolves differently later (DNS
// rebinding) is caught too.
func newClient(timeout time.Duration, allowPrivate bool) *http.Client {
	d := &net.Dialer{Timeout: timeout}
	if !allowPrivate {
		d.Control = func(network, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			if ip := net.ParseIP(host); ip == nil || core.PrivateAddress(ip) {
				return fmt.Errorf("%w %s: set [webhooks] allow_private = true to allow it", errPrivate, host)
			}
			return nil
		}
	}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// attempt is the result of one POST: the status (0 when there was no answer) and why it
// failed ("" for a 2xx).
type attempt struct {
	status int
	err    string
}

// post sends one signed delivery.
func post(ctx context.Context, c *http.Client, url, secret, id string, at time.Time, body []byte) attempt {
	ts := at.Unix()
	sig, err := Sign(secret, id, ts, body)
	if err != nil {
		return attempt{err: err.Error()}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return attempt{err: "bad URL: " + err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "helpdeskd-webhook")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := c.Do(req)
	if err != nil {
		return attempt{err: err.Error()}
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return attempt{status: resp.StatusCode}
	}
	msg := resp.Status
	if len(bytes.TrimSpace(answer)) > 0 {
		msg += ": " + truncate(string(bytes.TrimSpace(answer)), 300)
	}
	return attempt{status: resp.StatusCode, err: msg}
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
