package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// helpdeskd health asks the address of server.listen, loopback for a wildcard listener,
// and succeeds only on a 200.
func TestCLI_Health(t *testing.T) {
	ready := http.StatusServiceUnavailable
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz":
			w.WriteHeader(http.StatusOK)
		case "/readyz":
			w.WriteHeader(ready)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	closed := freeAddr(t)

	tests := []struct {
		name   string
		listen string
		args   []string
		code   int
		want   string
	}{
		{"alive", srv.Listener.Addr().String(), nil, exitOK, "/healthz: 200 OK"},
		{"wildcard listener asked on loopback", ":" + port, nil, exitOK, "http://127.0.0.1:" + port + "/healthz"},
		{"IPv4 wildcard", "0.0.0.0:" + port, nil, exitOK, "http://127.0.0.1:" + port + "/healthz"},
		{"not ready", srv.Listener.Addr().String(), []string{"-ready"}, exitError, "/readyz: 503"},
		{"nothing listening", closed, nil, exitError, "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, []string{"HELPDESKD_SERVER_LISTEN=" + tt.listen}, append([]string{"health"}, tt.args...)...)
			if code != tt.code || !strings.Contains(out+errOut, tt.want) {
				t.Errorf("exit %d, %q %q; want exit %d and %q", code, out, errOut, tt.code, tt.want)
			}
		})
	}
	ready = http.StatusOK
	if code, out, _ := runCLI(t, []string{"HELPDESKD_SERVER_LISTEN=" + srv.Listener.Addr().String()}, "health", "-ready"); code != exitOK {
		t.Errorf("ready: exit %d, %q", code, out)
	}
}
