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
	var data map[string]any
	if s.opts.Leases != nil {
		// Which singleton jobs this node runs, for an operator looking at several nodes.
		data = map[string]any{"leases": s.opts.Leases()}
	}
	if s.opts.ReadyData != nil {
		// What the channels' far ends are doing (Telegram throttling the bot): reported,
		// not a reason to be unready — the desk holds the work until they come back.
		if data == nil {
			data = map[string]any{}
		}
		for k, v := range s.opts.ReadyData() {
			data[k] = v
		}
	}
	if data == nil {
		s.respond(w, r, http.StatusOK, "ready", nil)
		return
	}
	s.respond(w, r, http.StatusOK, "ready", data)
}
