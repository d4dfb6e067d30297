package telegram

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/telegram/telegramtest"
	"github.com/helpdeskd/helpdeskd/gateway"
)

const secretToken = "5012345678:AAH-secretPart_xyz"

// closedPort is an address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// answering is a Bot API that answers every call with status and body.
func answering(t *testing.T, status int, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// noToken fails when err, or anything it unwraps to, spells the token.
func noToken(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		if strings.Contains(e.Error(), "AAH-secretPart_xyz") {
			t.Errorf("error %T spells the token: %v", e, e)
		}
	}
	var ue *url.Error
	if errors.As(err, &ue) && strings.Contains(ue.URL, "secretPart") {
		t.Errorf("url.Error keeps the token in its URL: %s", ue.URL)
	}
}

func TestClient_ErrorsNeverCarryTheToken(t *testing.T) {
	tests := []struct {
		name  string
		url   func(t *testing.T) string
		check func(t *testing.T, err error)
	}{
		{"closed port", closedPort, func(t *testing.T, err error) {
			var ue *url.Error
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), "/bot"+redactedToken+"/sendMessage") {
				t.Errorf("want a *url.Error naming the redacted URL, got %T %v", err, err)
			}
			if gateway.IsPermanent(err) {
				t.Errorf("a network error must be retried: %v", err)
			}
		}},
		{"connection dropped", func(t *testing.T) string { return telegramtest.Dropping(t) }, func(t *testing.T, err error) {
			var ue *url.Error
			if !errors.As(err, &ue) {
				t.Errorf("want a *url.Error, got %T %v", err, err)
			}
		}},
		{"429 with retry_after", func(t *testing.T) string {
			return answering(t, 429, `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}`)
		}, func(t *testing.T, err error) {
			var ra *gateway.RetryAfterError
			if !errors.As(err, &ra) || ra.After != 7*time.Second {
				t.Errorf("want retry after 7 s, got %v", err)
			}
		}},
		{"400 echoing the request line", func(t *testing.T) string {
			return answering(t, 400, `{"ok":false,"error_code":400,"description":"Bad Request: POST /bot`+secretToken+`/sendMessage"}`)
		}, func(t *testing.T, err error) {
			var ae *apiError
			if !errors.As(err, &ae) || ae.Code != 400 || !gateway.IsPermanent(err) {
				t.Errorf("want a permanent *apiError 400, got %T %v", err, err)
			}
		}},
		{"not JSON", func(t *testing.T) string { return answering(t, 200, `{"ok":true,"result":"`+secretToken+`"}`) }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := newClient(tt.url(t), secretToken, &http.Client{Timeout: 5 * time.Second}, context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var sent struct {
				ID int64 `json:"message_id"`
			}
			err = deliveryError(c.call("sendMessage", map[string]any{"chat_id": 1, "text": "x"}, &sent))
			noToken(t, err)
			if tt.check != nil {
				tt.check(t, err)
			}
		})
	}
}

func TestClient_DownloadErrorsNeverCarryTheToken(t *testing.T) {
	// getFile answers, the download itself finds a closed port: the file URL
	// (…/file/bot<TOKEN>/path) is the one in the error.
	closed := closedPort(t)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"ok":true,"result":{"file_id":"f","file_path":"photos/1.jpg"}}`))
	}))
	defer api.Close()
	for name, base := range map[string]string{"getFile fails": closed, "download fails": api.URL} {
		t.Run(name, func(t *testing.T) {
			c, err := newClient(base, secretToken, &http.Client{Timeout: 5 * time.Second}, context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if base == api.URL {
				// Send the download (and only it) to the closed port.
				c.bot.URL = base
				c.http.Transport = rewrite{to: strings.TrimPrefix(closed, "http://"), path: "/file/", base: c.http.Transport}
			}
			_, _, err = c.download("f", 1<<20)
			noToken(t, err)
		})
	}
}

// rewrite sends requests whose path starts with path to another host.
type rewrite struct {
	to, path string
	base     http.RoundTripper
}

func (r rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.HasPrefix(req.URL.Path, r.path) {
		req = req.Clone(req.Context())
		req.URL.Host = r.to
	}
	return r.base.RoundTrip(req)
}
