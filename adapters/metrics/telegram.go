package metrics

import "github.com/prometheus/client_golang/prometheus"

// telegramAPIStates are the states of helpdeskd_telegram_api_state, as the Telegram
// adapter names them.
var telegramAPIStates = []string{"ok", "throttled", "failing"}

// newTelegramAPIState is helpdeskd_telegram_api_state: 1 for the state the Bot API is in, 0
// for the others (all 0 until Telegram is enabled).
func newTelegramAPIState() *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: Namespace,
		Name:      "telegram_api_state",
		Help:      "1 for the Bot API's state as the last call found it: ok, throttled (429: sends wait for retry_after) or failing (5xx or no answer).",
	}, []string{"state"})
	for _, s := range telegramAPIStates {
		g.WithLabelValues(s)
	}
	return g
}

// SetTelegramAPIState sets the Bot API's state; an unknown one is ignored, so the label set
// stays fixed.
func (m *Metrics) SetTelegramAPIState(state string) {
	known := false
	for _, s := range telegramAPIStates {
		known = known || s == state
	}
	if !known {
		return
	}
	for _, s := range telegramAPIStates {
		v := 0.0
		if s == state {
			v = 1
		}
		m.telegramAPIState.WithLabelValues(s).Set(v)
	}
}
