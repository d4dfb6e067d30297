package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/helpdeskd/helpdeskd/core"
)

var _ core.SLAObserver = (*Metrics)(nil)

// newSLABreaches is helpdeskd_sla_breaches_total, both targets starting at zero.
func newSLABreaches() *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace,
		Name:      "sla_breaches_total",
		Help:      "SLA targets missed, by target: first_response or resolution. Each ticket's target counts once.",
	}, []string{"target"})
	for _, t := range []core.SLATarget{core.SLAFirstResponse, core.SLAResolution} {
		c.WithLabelValues(string(t))
	}
	return c
}

// SLABreached counts one missed SLA target; it makes *Metrics a core.SLAObserver. Any
// other target is ignored, so the label set stays fixed.
func (m *Metrics) SLABreached(target core.SLATarget) {
	switch target {
	case core.SLAFirstResponse, core.SLAResolution:
		m.slaBreaches.WithLabelValues(string(target)).Inc()
	}
}
