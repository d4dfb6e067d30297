package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/helpdeskd/helpdeskd/adapters/httpapi"
	"github.com/helpdeskd/helpdeskd/core"
	"github.com/helpdeskd/helpdeskd/gateway"
)

func withPreview(_ *core.Options, h *httpapi.Options) {
	h.Preview = gateway.RenderOptions{Address: "support@helpdesk.test", Name: "Helpdesk"}.Preview
}

type templatePreview struct {
	Name, Language, Format, Subject, Body string
}

// TestAdminTemplatePreview renders a template for an admin in every format; a bad name or
// format is a 400 naming the field, and a daemon without previews answers 503.
func TestAdminTemplatePreview(t *testing.T) {
	e := newEnv(t, withPreview)
	tests := []struct {
		query, want string
	}{
		{"/api/admin/Template/staff_reply/Preview?language=es&format=html", "<!DOCTYPE html>"},
		{"/api/admin/Template/status_changed/Preview?language=ru&format=telegram", "Статус Вашего обращения"},
		{"/api/admin/Template/ticket_created/Preview", "We have received your request"},
	}
	for _, tt := range tests {
		r := e.json("GET", tt.query, e.admin, nil)
		if r.status != http.StatusOK {
			t.Fatalf("%s: %s", tt.query, r)
		}
		var p templatePreview
		r.data(t, &p)
		if !strings.Contains(p.Body, tt.want) || !strings.HasPrefix(p.Subject, "[#1042] ") {
			t.Errorf("%s: %+v", tt.query, p)
		}
	}
	for _, tt := range []struct{ query, field string }{
		{"/api/admin/Template/no_such/Preview", "name"},
		{"/api/admin/Template/notice/Preview?format=pdf", "format"},
		{"/api/admin/Template/notice/Preview?language=xx", "language"},
	} {
		r := e.json("GET", tt.query, e.admin, nil)
		if r.status != http.StatusBadRequest || !r.hasError(tt.field) {
			t.Errorf("%s: %s", tt.query, r)
		}
	}
	if r := e.json("GET", "/api/admin/Template/notice/Preview", e.staff, nil); r.status != http.StatusForbidden {
		t.Errorf("staff: %s", r)
	}
	if bare := newEnv(t); bare.json("GET", "/api/admin/Template/notice/Preview", bare.admin, nil).status != http.StatusServiceUnavailable {
		t.Error("no preview: not 503")
	}
}
