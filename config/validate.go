package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// problems collects Validate's findings so that all of them are reported at once.
type problems []error

// languageTag is the common shape of a BCP 47 tag: a primary language, then subtags.
var languageTag = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$`)

func (p *problems) add(key, format string, args ...any) {
	*p = append(*p, &Error{Key: key, Msg: fmt.Sprintf(format, args...)})
}

// oneOf checks an enumerated value; none of them is a secret, so the value is shown.
func (p *problems) oneOf(key, value string, allowed ...string) {
	if !slices.Contains(allowed, value) {
		p.add(key, "must be one of %s (got %q)", strings.Join(allowed, ", "), value)
	}
}

// Validate reports every impossible value in c, each naming its key. Values of well-formed
// but disabled sections (hosts, credentials) are only required when the section is enabled;
// values that can never work (an unknown log level, a malformed address) are always errors.
// Secrets are checked for presence and length only and never shown.
func (c Config) Validate() error {
	var p problems
	c.validateServer(&p)
	c.validateEmail(&p)
	c.validateTelegram(&p)
	c.validateSLA(&p)

	c.validateDatabase(&p)
	for i, a := range c.Notify.StaffEmails {
		if !plainAddress(a) {
			p.add("notify.staff_emails", "item %d must be a plain e-mail address such as ops@example.com (got %q)", i+1, a)
		}
	}
	if n := c.Notify.MaxAttempts; n < 1 || n > 100 {
		p.add("notify.max_attempts", "must be from 1 to 100 (got %d)", n)
	}
	if !languageTag.MatchString(c.Notify.DefaultLanguage) {
		p.add("notify.default_language", "must be a language tag such as en, es or pt-BR")
	}
	c.validateAutoClose(&p)
	c.validateRetention(&p)
	if c.Notify.RetryDelay.Duration <= 0 {
		p.add("notify.retry_delay", "must be positive")
	}
	if c.Notify.MaxRetryDelay.Duration < c.Notify.RetryDelay.Duration {
		p.add("notify.max_retry_delay", "must be at least notify.retry_delay")
	}
	if u := c.Panel.TicketURL; u != "" {
		if !strings.Contains(u, "{id}") {
			p.add("panel.ticket_url", "must contain {id}, where the ticket ID goes")
		} else if !httpURL(strings.ReplaceAll(u, "{id}", "1")) {
			p.add("panel.ticket_url", "must be an http or https URL such as https://panel.example.com/support/{id}")
		}
	}
	if w := c.Webhooks; w.RetryInitial.Duration <= 0 {
		p.add("webhooks.retry_initial", "must be positive")
	} else if w.RetryMaxInterval.Duration < w.RetryInitial.Duration {
		p.add("webhooks.retry_max_interval", "must be at least webhooks.retry_initial")
	}
	if c.Webhooks.RetryFor.Duration <= 0 {
		p.add("webhooks.retry_for", "must be positive")
	}
	if t := c.Webhooks.Timeout.Duration; t <= 0 || t > 5*time.Minute {
		p.add("webhooks.timeout", "must be positive and at most 5m")
	}
	p.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	p.oneOf("log.format", c.Log.Format, "text", "json")
	return errors.Join(p...)
}

func (c Config) validateServer(p *problems) {
	s := c.Server
	if host, port, err := net.SplitHostPort(s.Listen); err != nil || !validPort(port) || strings.ContainsAny(host, " /") {
		p.add("server.listen", "must be host:port such as 127.0.0.1:8080 or :8080 (got %q)", s.Listen)
	}
	if s.ShutdownTimeout.D() <= 0 {
		p.add("server.shutdown_timeout", "must be greater than zero (got %s)", s.ShutdownTimeout.D())
	}
	if s.ReadTimeout.D() < 0 {
		p.add("server.read_timeout", "must not be negative; 0 means no limit (got %s)", s.ReadTimeout.D())
	}
	if s.WriteTimeout.D() < 0 {
		p.add("server.write_timeout", "must not be negative; 0 means no limit (got %s)", s.WriteTimeout.D())
	}
	if s.RateLimitPerSecond < 0 || math.IsNaN(s.RateLimitPerSecond) || math.IsInf(s.RateLimitPerSecond, 0) {
		p.add("server.rate_limit_per_second", "must be a number, 0 or more; 0 means no limit (got %v)", s.RateLimitPerSecond)
	}
	if s.RateLimitBurst < 0 {
		p.add("server.rate_limit_burst", "must not be negative (got %d)", s.RateLimitBurst)
	} else if s.RateLimitPerSecond > 0 && s.RateLimitBurst == 0 {
		p.add("server.rate_limit_burst", "must be at least 1 when server.rate_limit_per_second is set")
	}
	if s.FailedAuthPerMinute < 0 || math.IsNaN(s.FailedAuthPerMinute) || math.IsInf(s.FailedAuthPerMinute, 0) {
		p.add("server.failed_auth_per_minute", "must be a number, 0 or more; 0 means no limit (got %v)", s.FailedAuthPerMinute)
	}
	if s.FailedAuthBurst < 0 {
		p.add("server.failed_auth_burst", "must not be negative (got %d)", s.FailedAuthBurst)
	} else if s.FailedAuthPerMinute > 0 && s.FailedAuthBurst == 0 {
		p.add("server.failed_auth_burst", "must be at least 1 when server.failed_auth_per_minute is set")
	}
	if s.MetricsListen != "" {
		switch host, port, err := net.SplitHostPort(s.MetricsListen); {
		case err != nil || !validPort(port) || strings.ContainsAny(host, " /"):
			p.add("server.metrics_listen", "must be empty (metrics on server.listen) or host:port such as 127.0.0.1:9090 (got %q)", s.MetricsListen)
		case !s.Metrics:
			p.add("server.metrics_listen", "is set but server.metrics is false: turn metrics on or leave metrics_listen empty")
		case s.MetricsListen == s.Listen && port != "0":
			p.add("server.metrics_listen", "must differ from server.listen (both are %q); leave it empty to serve metrics there", s.Listen)
		}
	}
	switch limit := c.Attachments.MaxBytes; {
	case limit <= 0:
		p.add("attachments.max_bytes", "must be greater than zero (got %d)", limit)
	case limit > math.MaxInt64-FormFieldsRoom:
		p.add("attachments.max_bytes", "is too large (got %d)", limit)
	case s.MaxBodyBytes < limit+FormFieldsRoom:
		p.add("server.max_body_bytes", "must be at least attachments.max_bytes + %d bytes for the other form fields, i.e. %d (got %d)",
			FormFieldsRoom, limit+FormFieldsRoom, s.MaxBodyBytes)
	}
}

// validateDatabase checks the driver and that the keys of the other driver are not set. The
// DSN is a secret (it may hold a password): only its shape is checked, and it is never shown.
func (c Config) validateDatabase(p *problems) {
	d := c.Database
	if d.Path == "" {
		p.add("database.path", "must not be empty")
	}
	switch {
	case d.MaxConns < 0:
		p.add("database.max_conns", "must not be negative; 0 means the default of 16 connections (got %d)", d.MaxConns)
	case d.MaxConns > MaxDatabaseConns:
		p.add("database.max_conns", "must be at most %d, the most connections a Postgres server takes (got %d)", MaxDatabaseConns, d.MaxConns)
	}
	if ttl := d.LeaseTTL.D(); ttl < 3*time.Second {
		// Renewed every third of it: shorter, a busy database or a GC pause loses the lease.
		p.add("database.lease_ttl", "must be at least 3s (got %s)", ttl)
	}
	switch d.Driver {
	case DriverSQLite:
		if d.DSN != "" {
			p.add("database.dsn", "is set but database.driver is %q, which uses database.path: set database.driver = %q, or unset dsn, dsn_file and %sDATABASE_DSN",
				DriverSQLite, DriverPostgres, EnvPrefix)
		}
	case DriverPostgres:
		switch {
		case d.DSN == "":
			p.add("database.dsn", "is required when database.driver is %q (set dsn, dsn_file or %sDATABASE_DSN)", DriverPostgres, EnvPrefix)
		case !postgresDSN(d.DSN):
			p.add("database.dsn", "must be a postgres:// or postgresql:// URL, or key=value pairs such as \"host=/run/postgresql dbname=helpdeskd\"")
		}
	default:
		p.add("database.driver", "must be one of %s, %s (got %q)", DriverSQLite, DriverPostgres, d.Driver)
	}
}

// postgresDSN reports whether s has the shape of a connection string that Postgres drivers
// accept: a postgres:// or postgresql:// URL, or keyword=value pairs.
func postgresDSN(s string) bool {
	if scheme, _, ok := strings.Cut(s, "://"); ok && !strings.ContainsAny(scheme, " =") {
		if scheme != "postgres" && scheme != "postgresql" {
			return false
		}
		_, err := url.Parse(s)
		return err == nil
	}
	return strings.Contains(s, "=")
}

func (c Config) validateEmail(p *problems) {
	e := c.Email
	switch {
	case e.Address != "" && !plainAddress(e.Address):
		p.add("email.address", "must be a plain e-mail address such as support@example.com (got %q)", e.Address)
	case e.Address == "" && e.Enabled:
		p.add("email.address", "is required when email.enabled is true")
	}
	if strings.ContainsFunc(e.Name, unicode.IsControl) {
		p.add("email.name", "must not contain control characters or line breaks")
	}
	if e.Enabled && e.ReplyTokens {
		switch {
		case e.Secret == "":
			p.add("email.secret", "is required when email.enabled and email.reply_tokens are true (set secret or secret_file)")
		case len(e.Secret) < MinSecretLen:
			p.add("email.secret", "must be at least %d bytes long", MinSecretLen)
		}
	}
	seen := make(map[string]bool, len(e.TopicByAddress))
	for _, addr := range sortedKeys(e.TopicByAddress) {
		topic := e.TopicByAddress[addr]
		key := "email.topic_by_address." + dotted([]string{addr})
		if !plainAddress(addr) {
			p.add(key, "the key must be a plain e-mail address such as billing@example.com")
		}
		if topic < 0 || topic > MaxTopic {
			p.add(key, "must be a topic number from 0 to %d (got %d)", MaxTopic, topic)
		}
		if lower := strings.ToLower(addr); seen[lower] {
			p.add(key, "address is listed twice (addresses are case-insensitive)")
		} else {
			seen[lower] = true
		}
	}

	im, sm := e.IMAP, e.SMTP
	p.oneOf("email.imap.security", im.Security, SecurityTLS, SecurityStartTLS, SecurityNone)
	p.oneOf("email.smtp.security", sm.Security, SecurityTLS, SecurityStartTLS, SecurityNone)
	if im.PollInterval.D() <= 0 {
		p.add("email.imap.poll_interval", "must be greater than zero (got %s)", im.PollInterval.D())
	}
	checkServer(p, "email.imap", e.Enabled, im.Host, im.Port, im.Security, im.Password)
	checkServer(p, "email.smtp", e.Enabled, sm.Host, sm.Port, sm.Security, sm.Password)
	if !e.Enabled {
		return
	}
	if im.Username == "" {
		p.add("email.imap.username", "is required when email.enabled is true")
	}
	if im.Password == "" {
		p.add("email.imap.password", "is required when email.enabled is true (set password or password_file)")
	}
	mailboxes := []struct{ key, name string }{
		{"email.imap.mailbox", im.Mailbox},
		{"email.imap.processed_mailbox", im.ProcessedMailbox},
		{"email.imap.failed_mailbox", im.FailedMailbox},
	}
	for i, mb := range mailboxes {
		if mb.name == "" {
			p.add(mb.key, "is required when email.enabled is true")
			continue
		}
		for _, other := range mailboxes[:i] {
			if strings.EqualFold(mb.name, other.name) {
				p.add(mb.key, "must differ from %s (both are %q)", other.key, mb.name)
			}
		}
	}
}

// checkServer validates a mail server's host and port, and refuses to send a password in
// clear text to anything but this machine.
func checkServer(p *problems, section string, enabled bool, host string, port int, security, password string) {
	if port < 0 || port > 65535 || (enabled && port == 0) {
		p.add(section+".port", "must be a port number from 1 to 65535 (got %d)", port)
	}
	if _, _, err := net.SplitHostPort(host); err == nil || strings.ContainsAny(host, " /") {
		p.add(section+".host", "must be a host name or IP address without a port (got %q)", host)
		return
	}
	if !enabled {
		return
	}
	if host == "" {
		p.add(section+".host", "is required when email.enabled is true")
		return
	}
	if security == SecurityNone && password != "" && !isLoopback(host) {
		p.add(section+".security", `"none" would send the password in clear text; it is allowed only for a loopback host (got host %q)`, host)
	}
}

var botUsername = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

func (c Config) validateTelegram(p *problems) {
	t := c.Telegram
	switch {
	case t.APIURL != "" && !httpURL(t.APIURL):
		p.add("telegram.api_url", "must be an http or https URL such as https://api.telegram.org")
	case t.APIURL == "" && t.Enabled:
		p.add("telegram.api_url", "is required when telegram.enabled is true")
	}
	if t.Enabled && t.Token == "" {
		p.add("telegram.token", "is required when telegram.enabled is true (set token or token_file)")
	}
	if name := strings.TrimPrefix(t.BotUsername, "@"); name != "" && !botUsername.MatchString(name) {
		p.add("telegram.bot_username", "must contain only letters, digits and underscores (got %q)", t.BotUsername)
	}
}

// plainAddress reports whether s is a bare address ("a@example.com", not "A <a@example.com>").
func plainAddress(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Name == "" && a.Address == s
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil
}

func validPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 0 && n <= 65535 && !strings.HasPrefix(s, "+")
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
