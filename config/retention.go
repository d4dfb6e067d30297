package config

// Retention is [retention]: how many days raw mails and rejected mail are kept before the
// retention job purges them (docs/privacy.md). 0 keeps them forever, the default.
type Retention struct {
	// RawMailDays: the raw mail kept beside an inbound record (for a later look at what
	// arrived) is deleted this many days after it arrived; the record and its ticket stay.
	RawMailDays int `toml:"raw_mail_days"`
	// RejectedMailDays: a rejected mail's record (and its raw mail) is deleted this many
	// days after it arrived.
	RejectedMailDays int `toml:"rejected_mail_days"`
}

// maxRetentionDays bounds the retention keys: a century is "forever" written differently,
// and larger numbers would overflow the job's arithmetic.
const maxRetentionDays = 36500

// validateRetention checks [retention]: whole days from 0 (keep forever) to a century.
func (c Config) validateRetention(p *problems) {
	for _, k := range []struct {
		key  string
		days int
	}{{"retention.raw_mail_days", c.Retention.RawMailDays}, {"retention.rejected_mail_days", c.Retention.RejectedMailDays}} {
		if k.days < 0 || k.days > maxRetentionDays {
			p.add(k.key, "must be from 0 (keep forever) to %d days (got %d)", maxRetentionDays, k.days)
		}
	}
}
