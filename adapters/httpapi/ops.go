package httpapi

import (
	"context"
	"net/http"

	"github.com/helpdeskd/helpdeskd/core"
)

// GET /healthz: the process is alive and serving.
func (s *server) healthz(w http.ResponseWriter, r *http.Request) {
	s.respond(w, r, http.StatusOK, "ok", nil)
}

// GET /readyz: Options.Ready (the daemon passes the database's write check); 503 with its
// reason when not ready. A channel that lost its server keeps retrying on its own and shows
// in /metrics (helpdeskd_channel_connected), not here: taking the API out of a load
// balancer would not bring the mail server back.
func (s *server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.opts.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		if err := s.opts.Ready(ctx); err != nil {
			s.log.WarnContext(r.Context(), "not ready", "request_id", infoOf(r).requestID, "err", err)
			s.writeError(w, r, core.Errorf(core.EUNAVAILABLE, "Not ready: %s", err.Error()))
			return
		}
	}
	var data any
	if s.opts.Leases != nil {
		// Which singleton jobs this node runs, for an operator looking at several nodes.
		data = map[string]any{"leases": s.opts.Leases()}
	}
	s.respond(w, r, http.StatusOK, "ready", data)
}
