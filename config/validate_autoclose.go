package config

// validateAutoClose checks [tickets] auto_close_after and auto_close_reminder: both zero or
// positive, and a reminder that comes before the close (a reminder of auto-close that is
// off is harmless but meaningless, so it is refused too).
func (c Config) validateAutoClose(p *problems) {
	after, reminder := c.Tickets.AutoCloseAfter.Duration, c.Tickets.AutoCloseReminder.Duration
	switch {
	case after < 0:
		p.add("tickets.auto_close_after", "must not be negative (0 turns auto-close off)")
	case reminder < 0:
		p.add("tickets.auto_close_reminder", "must not be negative (0 sends no reminder)")
	case after == 0 && reminder > 0:
		p.add("tickets.auto_close_reminder", "needs tickets.auto_close_after (auto-close is off)")
	case after > 0 && reminder >= after:
		p.add("tickets.auto_close_reminder", "must be less than tickets.auto_close_after")
	}
}
