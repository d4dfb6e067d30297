package httpapi

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRecoverPanics(t *testing.T) {
	var logs bytes.Buffer
	s := &server{log: slog.New(slog.NewTextHandler(&logs, nil))}

	t.Run("answers the 500 envelope and logs the stack", func(t *testing.T) {
		logs.Reset()
		h := recoverPanics(s)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
			panic("boom: secret=hunter2")
		}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
		if rec.Code != http.StatusInternalServerError {
			t.Fatalf("status %d", rec.Code)
		}
		var env map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
			t.Fatalf("body %q: %v", rec.Body, err)
		}
		if env["succeeded"] != false || env["message"] != "Internal error." || env["data"] != nil {
			t.Errorf("envelope %v", env)
		}
		if _, ok := env["errors"]; ok {
			t.Errorf("errors on a 500: %v", env)
		}
		if strings.Contains(rec.Body.String(), "hunter2") {
			t.Error("panic value leaked to the client")
		}
		if !strings.Contains(logs.String(), "panic serving request") || !strings.Contains(logs.String(), "boom") ||
			!strings.Contains(logs.String(), "recover_internal_test.go") {
			t.Errorf("log lacks the panic and its stack:\n%s", logs.String())
		}
	})

	t.Run("leaves a started answer alone", func(t *testing.T) {
		h := recoverPanics(s)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte("partial"))
			panic("late")
		}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
		if rec.Code != http.StatusOK || rec.Body.String() != "partial" {
			t.Errorf("%d %q", rec.Code, rec.Body)
		}
	})

	t.Run("passes http.ErrAbortHandler on", func(t *testing.T) {
		h := recoverPanics(s)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
			panic(http.ErrAbortHandler)
		}))
		defer func() {
			if v := recover(); v != http.ErrAbortHandler {
				t.Errorf("recovered %v, want http.ErrAbortHandler", v)
			}
		}()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/x", nil))
	})
}

func TestStatusFor_EveryCode(t *testing.T) {
	for code, want := range map[string]int{
		"invalid": 400, "unauthorized": 401, "forbidden": 403, "not_found": 404, eMethodNotAllowed: 405,
		"conflict": 409, "too_large": 413, eUnsupportedMediaType: 415, "rate_limited": 429,
		"unavailable": 503, "internal": 500, "something new": 500,
	} {
		if got := statusFor(code); got != want {
			t.Errorf("statusFor(%q) = %d, want %d", code, got, want)
		}
	}
}

func TestContentDisposition(t *testing.T) {
	for name, want := range map[string]string{
		"report.pdf":       `attachment; filename=report.pdf`,
		"my report.pdf":    `attachment; filename="my report.pdf"`,
		"../../etc/passwd": `attachment; filename=passwd`,
		"a\"b\r\nc.txt":    `attachment; filename=abc.txt`,
		"résumé.pdf":       `attachment; filename=r_sum_.pdf; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf`,
		"100%.txt":         `attachment; filename=100_.txt; filename*=UTF-8''100%25.txt`,
		"日本.txt":           `attachment; filename=__.txt; filename*=UTF-8''%E6%97%A5%E6%9C%AC.txt`,
		"":                 `attachment; filename=file`,
	} {
		if got := contentDisposition(name); got != want {
			t.Errorf("contentDisposition(%q) = %s, want %s", name, got, want)
		}
	}
}
