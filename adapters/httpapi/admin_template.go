package httpapi

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/helpdeskd/helpdeskd/core"
)

// Notification template previews: an admin checks an override, in every language, on
// made-up data before any customer receives it. The rendering itself is the gateway's
// (Options.Preview); this only routes and answers.

type templatePreviewDTO struct {
	Name     string `json:"name"`
	Language string `json:"language"`
	Format   string `json:"format"`
	Subject  string `json:"subject"`
	Body     string `json:"body"`
}

// GET /api/admin/Template/{name}/Preview?language=&format=
func (s *server) previewTemplate(w http.ResponseWriter, r *http.Request) {
	if s.opts.Preview == nil {
		s.writeError(w, r, core.Errorf(core.EUNAVAILABLE, "Template preview is not enabled."))
		return
	}
	q := r.URL.Query()
	name, language, format := chi.URLParam(r, "name"), q.Get("language"), q.Get("format")
	if format == "" {
		format = "text"
	}
	subject, body, err := s.opts.Preview(name, language, format)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.respond(w, r, http.StatusOK, "Template rendered.",
		templatePreviewDTO{Name: name, Language: language, Format: format, Subject: subject, Body: body})
}
