package metrics_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/metrics"
	"github.com/helpdeskd/helpdeskd/core"
)

func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d", res.StatusCode)
	}
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHandler_ExposesEveryMetric(t *testing.T) {
	m := metrics.New()
	m.ObserveHTTP("/api/Ticket/{id}", http.MethodGet, 200, 3*time.Millisecond)
	m.ObserveHTTP("", "BREW", 405, time.Millisecond)
	m.TicketCreated(core.ChannelEmail)
	m.InboundMail(metrics.MailRejected)
	m.InboundMail("nonsense")
	m.NotificationFailed(core.ChannelTelegram)
	m.SetConnected(metrics.ChannelIMAP, true)
	m.SetConnected(metrics.ChannelTelegram, false)
	m.SetOutboxDepthFunc(func() float64 { return 7 })

	body := scrape(t, m)
	for _, want := range []string{
		`helpdeskd_http_request_duration_seconds_bucket{code="200",method="GET",route="/api/Ticket/{id}"`,
		`helpdeskd_http_request_duration_seconds_count{code="405",method="OTHER",route="unmatched"} 1`,
		`helpdeskd_tickets_created_total{channel="email"} 1`,
		`helpdeskd_tickets_created_total{channel="api"} 0`,
		`helpdeskd_inbound_mails_total{result="rejected"} 1`,
		`helpdeskd_inbound_mails_total{result="processed"} 0`,
		`helpdeskd_notifications_failed_total{channel="telegram"} 1`,
		`helpdeskd_channel_connected{channel="imap"} 1`,
		`helpdeskd_channel_connected{channel="telegram"} 0`,
		`helpdeskd_outbox_depth 7`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
	if strings.Contains(body, "nonsense") {
		t.Error("an unknown inbound result became a label value")
	}
	if runtimeHasProcfs() && !strings.Contains(body, "process_cpu_seconds_total") {
		t.Error("scrape lacks the process collector")
	}
}

func TestSetOutboxDepthFunc_ReplacesTheFunction(t *testing.T) {
	m := metrics.New()
	if strings.Contains(scrape(t, m), "helpdeskd_outbox_depth") {
		t.Fatal("outbox depth reported before a function was set")
	}
	m.SetOutboxDepthFunc(func() float64 { return 1 })
	m.SetOutboxDepthFunc(func() float64 { return 2 })
	if body := scrape(t, m); !strings.Contains(body, "helpdeskd_outbox_depth 2") {
		t.Errorf("want depth 2 in\n%s", body)
	}
}

func TestNew_RegistriesAreIndependent(t *testing.T) {
	a, b := metrics.New(), metrics.New()
	a.TicketCreated(core.ChannelAPI)
	if body := scrape(t, b); !strings.Contains(body, `helpdeskd_tickets_created_total{channel="api"} 0`) {
		t.Error("a count on one Metrics showed up in another")
	}
}
