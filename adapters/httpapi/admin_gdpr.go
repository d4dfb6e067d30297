package httpapi

import (
	"net/http"
	"strconv"
)

// GDPR: a user's data export and erasure, for admins (docs/privacy.md). Both are written
// to the audit log by core.

// GET /api/admin/User/{id}/Export: a zip archive of export.json and the user's files.
// Everything is gathered (and audited) before the first byte goes out, so a failure then
// is an ordinary error answer; a failure while streaming can only cut the archive short.
func (s *server) exportUser(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	x, err := s.svc.ExportUser(r.Context(), actorOf(r), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Disposition", `attachment; filename="user-`+strconv.FormatInt(id, 10)+`-export.zip"`)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if err := x.WriteZip(r.Context(), w); err != nil {
		s.log.WarnContext(r.Context(), "export user", "request_id", infoOf(r).requestID, "user", id, "err", err)
	}
}

type erasureDTO struct {
	UserID       int64 `json:"userId"`
	FilesDeleted int   `json:"filesDeleted"`
	FilesLeft    int   `json:"filesLeft"`
	ScrubPending bool  `json:"scrubPending"`
}

// POST /api/admin/User/{id}/Erase
func (s *server) eraseUser(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.svc.EraseUser(r.Context(), actorOf(r), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.respond(w, r, http.StatusOK, "User erased successfully.",
		erasureDTO{UserID: res.UserID, FilesDeleted: res.Files, FilesLeft: res.FilesLeft, ScrubPending: res.ScrubPending})
}
