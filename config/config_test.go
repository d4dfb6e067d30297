package config

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	toml "github.com/pelletier/go-toml/v2"
)

// writeTOML writes content to a file in a fresh temporary directory and returns its path.
func writeTOML(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "helpdeskd.toml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeSecret writes a secret file and returns its path.
func writeSecret(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// withEverythingOn is a valid configuration with both gateways enabled, the base of the
// validation tests.
func withEverythingOn(c *Config) {
	c.Email.Enabled = true
	c.Email.Secret = "0123456789abcdef-reply-token-key"
	c.Email.IMAP.Host = "imap.example.com"
	c.Email.IMAP.Username = "support"
	c.Email.IMAP.Password = "imap-password-42"
	c.Email.SMTP.Host = "smtp.example.com"
	c.Email.SMTP.Username = "support"
	c.Email.SMTP.Password = "smtp-password-42"
	c.Telegram.Enabled = true
	c.Telegram.Token = "123456:telegram-token-42"
}

// wantErr fails unless err is non-nil and its message contains every fragment.
func wantErr(t *testing.T, err error, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", fragments)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not contain %q", err, f)
		}
	}
}

func TestDefault_IsValidAndHasSpecDefaults(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"server.listen", c.Server.Listen, "127.0.0.1:8080"},
		{"server.shutdown_timeout", c.Server.ShutdownTimeout.D(), 15 * time.Second},
		{"server.read_timeout", c.Server.ReadTimeout.D(), 30 * time.Second},
		{"server.write_timeout", c.Server.WriteTimeout.D(), 60 * time.Second},
		{"server.max_body_bytes", c.Server.MaxBodyBytes, int64(12 << 20)},
		{"server.rate_limit_per_second", c.Server.RateLimitPerSecond, 50.0},
		{"server.rate_limit_burst", c.Server.RateLimitBurst, 100},
		{"server.failed_auth_per_minute", c.Server.FailedAuthPerMinute, 10.0},
		{"server.failed_auth_burst", c.Server.FailedAuthBurst, 20},
		{"server.metrics", c.Server.Metrics, true},
		{"server.metrics_listen", c.Server.MetricsListen, ""},
		{"database.driver", c.Database.Driver, "sqlite"},
		{"database.path", c.Database.Path, "data/helpdeskd.db"},
		{"database.attachments_dir", c.Database.AttachmentsDir, ""},
		{"database.dsn", c.Database.DSN, ""},
		{"database.dsn_file", c.Database.DSNFile, ""},
		{"database.max_conns", c.Database.MaxConns, 0},
		{"database.lease_ttl", c.Database.LeaseTTL.D(), 15 * time.Second},
		{"attachments.max_bytes", c.Attachments.MaxBytes, int64(10485760)},
		{"tickets.staff_reply_in_progress", c.Tickets.StaffReplyInProgress, false},
		{"email.enabled", c.Email.Enabled, false},
		{"email.address", c.Email.Address, "support@example.com"},
		{"email.name", c.Email.Name, "Support"},
		{"email.reply_tokens", c.Email.ReplyTokens, true},
		{"email.imap.port", c.Email.IMAP.Port, 993},
		{"email.imap.security", c.Email.IMAP.Security, "tls"},
		{"email.imap.mailbox", c.Email.IMAP.Mailbox, "INBOX"},
		{"email.imap.processed_mailbox", c.Email.IMAP.ProcessedMailbox, "helpdesk/processed"},
		{"email.imap.failed_mailbox", c.Email.IMAP.FailedMailbox, "helpdesk/failed"},
		{"email.imap.idle", c.Email.IMAP.IDLE, true},
		{"email.imap.poll_interval", c.Email.IMAP.PollInterval.D(), 30 * time.Second},
		{"email.smtp.port", c.Email.SMTP.Port, 587},
		{"email.smtp.security", c.Email.SMTP.Security, "starttls"},
		{"telegram.enabled", c.Telegram.Enabled, false},
		{"telegram.api_url", c.Telegram.APIURL, "https://api.telegram.org"},
		{"telegram.staff_chat_id", c.Telegram.StaffChatID, int64(0)},
		{"log.level", c.Log.Level, "info"},
		{"log.format", c.Log.Format, "text"},
	}
	for _, tc := range checks {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

func TestLoad_NoFileGivesDefaults(t *testing.T) {
	c, err := Load("", []string{"PATH=/usr/bin", "HOME=/root"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Errorf("Load(\"\") = %+v, want Default()", c)
	}
}

func TestLoad_ExampleFileDocumentsTheDefaults(t *testing.T) {
	const example = "../helpdeskd.example.toml"
	c, err := Load(example, nil)
	if err != nil {
		t.Fatalf("Load(example) = %v", err)
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Errorf("the example file does not set the defaults:\n got %+v\nwant %+v", c, Default())
	}

	// Every key is written out in the example, not just left to its default.
	data, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := toml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	for _, f := range fields() {
		var v any = doc
		for part := range strings.SplitSeq(f.key, ".") {
			m, _ := v.(map[string]any)
			v = m[part]
		}
		if v == nil {
			t.Errorf("the example file does not set %s", f.key)
		}
	}
}

func TestLoad_FileOverrides(t *testing.T) {
	tests := []struct {
		name   string
		toml   string
		mutate func(*Config)
	}{
		{"empty file keeps defaults", "", func(*Config) {}},
		{"server", `
[server]
listen = ":9090"
shutdown_timeout = "1m30s"
read_timeout = "0s"
max_body_bytes = 20_000_000
`, func(c *Config) {
			c.Server.Listen = ":9090"
			c.Server.ShutdownTimeout = Duration{90 * time.Second}
			c.Server.ReadTimeout = Duration{0}
			c.Server.MaxBodyBytes = 20_000_000
		}},
		{"server metrics and failed-auth limit", `
[server]
metrics_listen = "127.0.0.1:9090"
failed_auth_per_minute = 0
failed_auth_burst = 0
`, func(c *Config) {
			c.Server.MetricsListen = "127.0.0.1:9090"
			c.Server.FailedAuthPerMinute, c.Server.FailedAuthBurst = 0, 0
		}},
		{"database and attachments", `
database.path = "/var/lib/helpdeskd/db.sqlite"
database.attachments_dir = "/srv/files"
attachments.max_bytes = 1048576
tickets.staff_reply_in_progress = true
`, func(c *Config) {
			c.Database.Path = "/var/lib/helpdeskd/db.sqlite"
			c.Database.AttachmentsDir = "/srv/files"
			c.Attachments.MaxBytes = 1 << 20
			c.Tickets.StaffReplyInProgress = true
		}},
		{"postgres database", `
[database]
driver = "postgres"
dsn = "postgres://helpdeskd@/helpdeskd?host=/run/postgresql"
max_conns = 16
`, func(c *Config) {
			c.Database.Driver = "postgres"
			c.Database.DSN = "postgres://helpdeskd@/helpdeskd?host=/run/postgresql"
			c.Database.MaxConns = 16
		}},
		{"nested email sections and topic table lower-cased", `
[email]
address = "help@example.net"
reply_tokens = false
[email.topic_by_address]
"Billing@Example.NET" = 3
"ssl@example.net" = 4
[email.imap]
host = "127.0.0.1"
port = 1143
security = "none"
idle = false
poll_interval = "5s"
[email.smtp]
security = "tls"
port = 465
`, func(c *Config) {
			c.Email.Address = "help@example.net"
			c.Email.ReplyTokens = false
			c.Email.TopicByAddress = map[string]int{"billing@example.net": 3, "ssl@example.net": 4}
			c.Email.IMAP.Host = "127.0.0.1"
			c.Email.IMAP.Port = 1143
			c.Email.IMAP.Security = "none"
			c.Email.IMAP.IDLE = false
			c.Email.IMAP.PollInterval = Duration{5 * time.Second}
			c.Email.SMTP.Security = "tls"
			c.Email.SMTP.Port = 465
		}},
		{"telegram, notify, panel, log", `
[telegram]
api_url = "http://127.0.0.1:8081"
staff_chat_id = -1001234567890
bot_username = "@helpdesk_bot"
[notify]
staff_emails = ["ops@example.com", "boss@example.com"]
[panel]
ticket_url = "https://panel.example.com/support/{id}"
[log]
level = "debug"
format = "json"
`, func(c *Config) {
			c.Telegram.APIURL = "http://127.0.0.1:8081"
			c.Telegram.StaffChatID = -1001234567890
			c.Telegram.BotUsername = "helpdesk_bot"
			c.Notify.StaffEmails = []string{"ops@example.com", "boss@example.com"}
			c.Panel.TicketURL = "https://panel.example.com/support/{id}"
			c.Log.Level = "debug"
			c.Log.Format = "json"
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Load(writeTOML(t, tc.toml), nil)
			if err != nil {
				t.Fatal(err)
			}
			want := Default()
			tc.mutate(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestLoad_EnvOverrides(t *testing.T) {
	tests := []struct {
		name   string
		toml   string
		env    []string
		mutate func(*Config)
	}{
		{"top-level section", "", []string{"HELPDESKD_SERVER_LISTEN=0.0.0.0:80", "HELPDESKD_LOG_LEVEL=warn"},
			func(c *Config) { c.Server.Listen = "0.0.0.0:80"; c.Log.Level = "warn" }},
		{"nested section", "", []string{"HELPDESKD_EMAIL_IMAP_HOST=mail.example.com", "HELPDESKD_EMAIL_SMTP_PORT=2525"},
			func(c *Config) { c.Email.IMAP.Host = "mail.example.com"; c.Email.SMTP.Port = 2525 }},
		{"duration, bool and int64", "", []string{
			"HELPDESKD_EMAIL_IMAP_POLL_INTERVAL=2m",
			"HELPDESKD_EMAIL_IMAP_IDLE=false",
			"HELPDESKD_TICKETS_STAFF_REPLY_IN_PROGRESS=true",
			"HELPDESKD_TELEGRAM_STAFF_CHAT_ID=-100987",
			"HELPDESKD_SERVER_MAX_BODY_BYTES=13000000",
		}, func(c *Config) {
			c.Email.IMAP.PollInterval = Duration{2 * time.Minute}
			c.Email.IMAP.IDLE = false
			c.Tickets.StaffReplyInProgress = true
			c.Telegram.StaffChatID = -100987
			c.Server.MaxBodyBytes = 13000000
		}},
		{"list, comma-separated", "", []string{"HELPDESKD_NOTIFY_STAFF_EMAILS=a@example.com, b@example.com,"},
			func(c *Config) { c.Notify.StaffEmails = []string{"a@example.com", "b@example.com"} }},
		{"empty list clears the file's list", `notify.staff_emails = ["a@example.com"]`,
			[]string{"HELPDESKD_NOTIFY_STAFF_EMAILS="},
			func(*Config) {}},
		{"table as addr=topic pairs", "", []string{"HELPDESKD_EMAIL_TOPIC_BY_ADDRESS=Billing@example.com=3, ssl@example.com=4"},
			func(c *Config) {
				c.Email.TopicByAddress = map[string]int{"billing@example.com": 3, "ssl@example.com": 4}
			}},
		{"environment wins over the file", "[server]\nlisten = \":1\"\n", []string{"HELPDESKD_SERVER_LISTEN=:2"},
			func(c *Config) { c.Server.Listen = ":2" }},
		{"the last of repeated variables wins", "", []string{"HELPDESKD_LOG_FORMAT=text", "HELPDESKD_LOG_FORMAT=json"},
			func(c *Config) { c.Log.Format = "json" }},
		{"metrics off and failed-auth limit", "", []string{"HELPDESKD_SERVER_METRICS=false", "HELPDESKD_SERVER_FAILED_AUTH_PER_MINUTE=2.5",
			"HELPDESKD_SERVER_FAILED_AUTH_BURST=5"},
			func(c *Config) {
				c.Server.Metrics = false
				c.Server.FailedAuthPerMinute = 2.5
				c.Server.FailedAuthBurst = 5
			}},
		{"postgres database", "", []string{"HELPDESKD_DATABASE_DRIVER=postgres",
			"HELPDESKD_DATABASE_DSN=host=/run/postgresql dbname=helpdeskd", "HELPDESKD_DATABASE_MAX_CONNS=8"},
			func(c *Config) {
				c.Database.Driver = "postgres"
				c.Database.DSN = "host=/run/postgresql dbname=helpdeskd"
				c.Database.MaxConns = 8
			}},
		{"the DSN from the environment wins over the file's", "[database]\ndriver = \"postgres\"\ndsn = \"postgres://a@/a\"\n",
			[]string{"HELPDESKD_DATABASE_DSN=postgres://b:pw@db.example.com/b"},
			func(c *Config) { c.Database.Driver = "postgres"; c.Database.DSN = "postgres://b:pw@db.example.com/b" }},
		{"metrics on a listener of their own", "", []string{"HELPDESKD_SERVER_METRICS_LISTEN=127.0.0.1:9090"},
			func(c *Config) { c.Server.MetricsListen = "127.0.0.1:9090" }},
		{"other variables are ignored", "", []string{"PATH=/bin", "helpdeskd_server_listen=nope", "NOEQUALS",
			EnvConfigFile + "=/etc/helpdeskd.toml", EnvTestPrefix + "IMAP_PORT=1143"},
			func(*Config) {}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Load(writeTOML(t, tc.toml), tc.env)
			if err != nil {
				t.Fatal(err)
			}
			want := Default()
			tc.mutate(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestLoad_FileErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		name string
		toml string
		want []string
	}{
		{"unknown key", "[server]\nlisen = \"x\"\n",
			[]string{"config: server.lisen: unknown key", "line 2"}},
		{"unknown nested key", "[email.imap]\nhost = \"h\"\nport_number = 1\n",
			[]string{"config: email.imap.port_number: unknown key", "line 3"}},
		{"every unknown key is reported", "a = 1\n[log]\nb = 2\n",
			[]string{"config: a: unknown key", "config: log.b: unknown key"}},
		{"unknown section", "[mail]\nhost = \"h\"\n",
			[]string{"config: mail: unknown section", "line 1"}},
		{"string for an integer", "[email.imap]\nport = \"993\"\n",
			[]string{"config: email.imap.port: must be an integer (found a string)", "line 2"}},
		{"integer for a string", "[server]\nlisten = 8080\n",
			[]string{"config: server.listen: must be a string (found an integer)"}},
		{"string for a bool", "[email]\nenabled = \"yes\"\n",
			[]string{"config: email.enabled: must be true or false"}},
		{"string for a list", "[notify]\nstaff_emails = \"a@example.com\"\n",
			[]string{"config: notify.staff_emails: must be a list of strings"}},
		{"wrong item in a list", "[notify]\nstaff_emails = [1]\n",
			[]string{"config: notify.staff_emails: must be a list of strings (found an integer)"}},
		{"string for a topic", "[email.topic_by_address]\n\"a@example.com\" = \"billing\"\n",
			[]string{"config: email.topic_by_address", "must be", "line 2"}},
		{"value for a section", "email = 1\n",
			[]string{"config: email: must be a table"}},
		{"table for a string", "[server.listen]\nx = 1\n",
			[]string{"config: server.listen: must be a string"}},
		{"bad duration string", "[email.imap]\npoll_interval = \"soon\"\n",
			[]string{"config: email.imap.poll_interval: must be a duration", "line 2"}},
		{"number for a duration", "[server]\nread_timeout = 30\n",
			[]string{"config: server.read_timeout: must be a duration"}},
		{"integer overflow", "[server]\nmax_body_bytes = 99999999999999999999\n",
			[]string{"config: server.max_body_bytes: must be an integer"}},
		{"key set twice", "[log]\nlevel = \"info\"\nlevel = \"debug\"\n",
			[]string{"config: log.level: is set twice", "line 3"}},
		{"nested key set twice", "[log]\nlevel = \"info\"\n[email.imap]\nport = 1\n\"port\" = 2\n",
			[]string{"config: email.imap.port: is set twice", "line 5"}},
		{"duration set twice", "[email.imap]\npoll_interval = \"1s\"\npoll_interval = \"2s\"\n",
			[]string{"config: email.imap.poll_interval: is set twice", "line 3"}},
		{"table set twice", "[log]\nlevel = \"info\"\n[log]\nformat = \"json\"\n",
			[]string{"config: log: is set twice", "line 3"}},
		{"table after dotted keys", "email.imap.port = 1\n[email.imap]\nhost = \"h\"\n",
			[]string{"config: email.imap: is set twice", "line 2"}},
		{"syntax error", "[email.imap\n",
			[]string{"config: invalid TOML", "line 1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeTOML(t, tc.toml)
			_, err := Load(path, nil)
			wantErr(t, err, append(tc.want, path)...)
			var ce *Error
			if !errors.As(err, &ce) {
				t.Errorf("error %v is not a *config.Error", err)
			}
		})
	}
}

func TestLoad_MissingFileIsAnError(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.toml"), nil)
	wantErr(t, err, "config: read configuration file", "nope.toml")
}

func TestLoad_EnvErrorsNameTheVariable(t *testing.T) {
	tests := []struct {
		name string
		env  string
		want []string
	}{
		{"unknown variable", "HELPDESKD_SERVER_LISEN=:80",
			[]string{"config: HELPDESKD_SERVER_LISEN: unknown key"}},
		{"unknown section", "HELPDESKD_MAIL_HOST=x",
			[]string{"config: HELPDESKD_MAIL_HOST: unknown key"}},
		{"a section is not a key", "HELPDESKD_EMAIL_IMAP=x",
			[]string{"config: HELPDESKD_EMAIL_IMAP: unknown key"}},
		{"bad integer", "HELPDESKD_EMAIL_IMAP_PORT=imaps",
			[]string{"config: HELPDESKD_EMAIL_IMAP_PORT (email.imap.port): must be an integer"}},
		{"empty integer", "HELPDESKD_EMAIL_SMTP_PORT=",
			[]string{"config: HELPDESKD_EMAIL_SMTP_PORT (email.smtp.port): must be an integer"}},
		{"integer out of range", "HELPDESKD_ATTACHMENTS_MAX_BYTES=99999999999999999999",
			[]string{"config: HELPDESKD_ATTACHMENTS_MAX_BYTES (attachments.max_bytes): is out of range"}},
		{"bad bool", "HELPDESKD_EMAIL_ENABLED=yes",
			[]string{"config: HELPDESKD_EMAIL_ENABLED (email.enabled): must be true or false"}},
		{"bad duration", "HELPDESKD_SERVER_SHUTDOWN_TIMEOUT=15",
			[]string{"config: HELPDESKD_SERVER_SHUTDOWN_TIMEOUT (server.shutdown_timeout): must be a duration"}},
		{"table item without =", "HELPDESKD_EMAIL_TOPIC_BY_ADDRESS=a@example.com=1,b@example.com",
			[]string{"config: HELPDESKD_EMAIL_TOPIC_BY_ADDRESS (email.topic_by_address): item 2: must be key=value"}},
		{"table item with a bad topic", "HELPDESKD_EMAIL_TOPIC_BY_ADDRESS=a@example.com=ssl",
			[]string{"config: HELPDESKD_EMAIL_TOPIC_BY_ADDRESS (email.topic_by_address): item 1: must be an integer"}},
		{"valid syntax, impossible value", "HELPDESKD_EMAIL_IMAP_SECURITY=ssl",
			[]string{"config: email.imap.security: must be one of tls, starttls, none"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load("", []string{tc.env})
			wantErr(t, err, tc.want...)
		})
	}
}

func TestValidate_NamesTheBadKey(t *testing.T) {
	base := Default()
	withEverythingOn(&base)
	if err := base.Validate(); err != nil {
		t.Fatalf("the base configuration is invalid: %v", err)
	}
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"listen without port", func(c *Config) { c.Server.Listen = "localhost" }, "config: server.listen: must be host:port"},
		{"default language not a tag", func(c *Config) { c.Notify.DefaultLanguage = "Spanish" }, "config: notify.default_language: must be a language tag"},
		{"no default language", func(c *Config) { c.Notify.DefaultLanguage = "" }, "config: notify.default_language: must be a language tag"},
		{"listen with a bad port", func(c *Config) { c.Server.Listen = ":http" }, "config: server.listen: must be host:port"},
		{"listen port too big", func(c *Config) { c.Server.Listen = ":65536" }, "config: server.listen: must be host:port"},
		{"negative rate limit", func(c *Config) { c.Server.RateLimitPerSecond = -1 }, "config: server.rate_limit_per_second: must be a number, 0 or more"},
		{"rate limit without burst", func(c *Config) { c.Server.RateLimitBurst = 0 }, "config: server.rate_limit_burst: must be at least 1"},
		{"negative failed-auth limit", func(c *Config) { c.Server.FailedAuthPerMinute = -1 }, "config: server.failed_auth_per_minute: must be a number, 0 or more"},
		{"failed-auth limit not a number", func(c *Config) { c.Server.FailedAuthPerMinute = math.NaN() }, "config: server.failed_auth_per_minute: must be a number"},
		{"failed-auth limit without burst", func(c *Config) { c.Server.FailedAuthBurst = 0 }, "config: server.failed_auth_burst: must be at least 1"},
		{"negative failed-auth burst", func(c *Config) { c.Server.FailedAuthBurst = -1 }, "config: server.failed_auth_burst: must not be negative"},
		{"metrics listen without port", func(c *Config) { c.Server.MetricsListen = "localhost" }, "config: server.metrics_listen: must be empty (metrics on server.listen) or host:port"},
		{"metrics listen with a path", func(c *Config) { c.Server.MetricsListen = "127.0.0.1:9090/metrics" }, "config: server.metrics_listen: must be empty"},
		{"metrics listen with metrics off", func(c *Config) { c.Server.Metrics = false; c.Server.MetricsListen = "127.0.0.1:9090" },
			"config: server.metrics_listen: is set but server.metrics is false"},
		{"metrics listen is the API listener", func(c *Config) { c.Server.MetricsListen = c.Server.Listen }, "config: server.metrics_listen: must differ from server.listen"},
		{"zero shutdown timeout", func(c *Config) { c.Server.ShutdownTimeout = Duration{} }, "config: server.shutdown_timeout: must be greater than zero"},
		{"negative read timeout", func(c *Config) { c.Server.ReadTimeout = Duration{-time.Second} }, "config: server.read_timeout: must not be negative"},
		{"negative write timeout", func(c *Config) { c.Server.WriteTimeout = Duration{-time.Second} }, "config: server.write_timeout: must not be negative"},
		{"body smaller than an attachment", func(c *Config) { c.Server.MaxBodyBytes = c.Attachments.MaxBytes },
			"config: server.max_body_bytes: must be at least attachments.max_bytes + 1048576"},
		{"zero attachment size", func(c *Config) { c.Attachments.MaxBytes = 0 }, "config: attachments.max_bytes: must be greater than zero"},
		{"huge attachment size", func(c *Config) { c.Attachments.MaxBytes = math.MaxInt64; c.Server.MaxBodyBytes = math.MaxInt64 }, "config: attachments.max_bytes: is too large"},
		{"empty database path", func(c *Config) { c.Database.Path = "" }, "config: database.path: must not be empty"},
		{"bad support address", func(c *Config) { c.Email.Address = "support" }, "config: email.address: must be a plain e-mail address"},
		{"support address with a name", func(c *Config) { c.Email.Address = "Support <s@example.com>" }, "config: email.address: must be a plain e-mail address"},
		{"missing support address", func(c *Config) { c.Email.Address = "" }, "config: email.address: is required"},
		{"name with a line break", func(c *Config) { c.Email.Name = "Support\r\nBcc: x@example.com" }, "config: email.name: must not contain control characters"},
		{"missing secret", func(c *Config) { c.Email.Secret = "" }, "config: email.secret: is required"},
		{"short secret", func(c *Config) { c.Email.Secret = "short" }, "config: email.secret: must be at least 16 bytes"},
		{"topic out of range", func(c *Config) { c.Email.TopicByAddress = map[string]int{"a@example.com": 6} },
			"config: email.topic_by_address.\"a@example.com\": must be a topic number from 0 to 5"},
		{"negative topic", func(c *Config) { c.Email.TopicByAddress = map[string]int{"a@example.com": -1} },
			"config: email.topic_by_address.\"a@example.com\": must be a topic number"},
		{"topic key not an address", func(c *Config) { c.Email.TopicByAddress = map[string]int{"billing": 3} },
			"config: email.topic_by_address.billing: the key must be a plain e-mail address"},
		{"topic address twice", func(c *Config) { c.Email.TopicByAddress = map[string]int{"a@example.com": 1, "A@example.com": 2} },
			"address is listed twice"},
		{"imap security", func(c *Config) { c.Email.IMAP.Security = "ssl" }, "config: email.imap.security: must be one of tls, starttls, none (got \"ssl\")"},
		{"smtp security", func(c *Config) { c.Email.SMTP.Security = "" }, "config: email.smtp.security: must be one of tls, starttls, none"},
		{"imap port zero", func(c *Config) { c.Email.IMAP.Port = 0 }, "config: email.imap.port: must be a port number from 1 to 65535"},
		{"smtp port too big", func(c *Config) { c.Email.SMTP.Port = 70000 }, "config: email.smtp.port: must be a port number"},
		{"missing imap host", func(c *Config) { c.Email.IMAP.Host = "" }, "config: email.imap.host: is required"},
		{"missing smtp host", func(c *Config) { c.Email.SMTP.Host = "" }, "config: email.smtp.host: is required"},
		{"host with a port", func(c *Config) { c.Email.SMTP.Host = "smtp.example.com:25" }, "config: email.smtp.host: must be a host name or IP address without a port"},
		{"missing imap username", func(c *Config) { c.Email.IMAP.Username = "" }, "config: email.imap.username: is required"},
		{"missing imap password", func(c *Config) { c.Email.IMAP.Password = "" }, "config: email.imap.password: is required"},
		{"clear-text password to a remote host", func(c *Config) { c.Email.IMAP.Security = "none" },
			"config: email.imap.security: \"none\" would send the password in clear text"},
		{"zero poll interval", func(c *Config) { c.Email.IMAP.PollInterval = Duration{} }, "config: email.imap.poll_interval: must be greater than zero"},
		{"missing mailbox", func(c *Config) { c.Email.IMAP.Mailbox = "" }, "config: email.imap.mailbox: is required"},
		{"processed mailbox is the inbox", func(c *Config) { c.Email.IMAP.ProcessedMailbox = "inbox" },
			"config: email.imap.processed_mailbox: must differ from email.imap.mailbox"},
		{"failed mailbox is the processed one", func(c *Config) { c.Email.IMAP.FailedMailbox = c.Email.IMAP.ProcessedMailbox },
			"config: email.imap.failed_mailbox: must differ from email.imap.processed_mailbox"},
		{"missing telegram token", func(c *Config) { c.Telegram.Token = "" }, "config: telegram.token: is required"},
		{"api url not http", func(c *Config) { c.Telegram.APIURL = "ftp://api.example.com" }, "config: telegram.api_url: must be an http or https URL"},
		{"api url without host", func(c *Config) { c.Telegram.APIURL = "https://" }, "config: telegram.api_url: must be an http or https URL"},
		{"missing api url", func(c *Config) { c.Telegram.APIURL = "" }, "config: telegram.api_url: is required"},
		{"bad bot username", func(c *Config) { c.Telegram.BotUsername = "help desk" }, "config: telegram.bot_username: must contain only letters"},
		{"bad staff email", func(c *Config) { c.Notify.StaffEmails = []string{"ops@example.com", "ops"} },
			"config: notify.staff_emails: item 2 must be a plain e-mail address"},
		{"ticket url without id", func(c *Config) { c.Panel.TicketURL = "https://panel.example.com/support" }, "config: panel.ticket_url: must contain {id}"},
		{"ticket url not a url", func(c *Config) { c.Panel.TicketURL = "panel/{id}" }, "config: panel.ticket_url: must be an http or https URL"},
		{"log level", func(c *Config) { c.Log.Level = "verbose" }, "config: log.level: must be one of debug, info, warn, error (got \"verbose\")"},
		{"log format", func(c *Config) { c.Log.Format = "xml" }, "config: log.format: must be one of text, json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			c.Email.TopicByAddress = nil
			c.Notify.StaffEmails = nil
			tc.mutate(&c)
			err := c.Validate()
			wantErr(t, err, tc.want)
			var ce *Error
			if !errors.As(err, &ce) {
				t.Errorf("error %v is not a *config.Error", err)
			}
			for _, secret := range []string{base.Email.Secret, base.Email.IMAP.Password, base.Email.SMTP.Password, base.Telegram.Token} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q shows a secret", err)
				}
			}
		})
	}
}

// The database section: the driver, and the keys that belong to the other driver. The DSN
// may hold a password and is never shown.
func TestValidate_Database(t *testing.T) {
	const password = "pg-secret-pw-42"
	tests := []struct {
		name   string
		mutate func(*Database)
		want   string // "" = valid
	}{
		{"sqlite by default", func(*Database) {}, ""},
		{"postgres URL", func(d *Database) {
			d.Driver, d.DSN = "postgres", "postgres://helpdeskd:"+password+"@db.example.com:5432/helpdeskd"
		}, ""},
		{"postgresql URL", func(d *Database) {
			d.Driver, d.DSN = "postgres", "postgresql://helpdeskd@/helpdeskd?host=/run/postgresql"
		}, ""},
		{"postgres key=value", func(d *Database) {
			d.Driver, d.DSN = "postgres", "host=/run/postgresql dbname=helpdeskd password="+password
		}, ""},
		{"postgres with a pool size", func(d *Database) { d.Driver, d.DSN, d.MaxConns = "postgres", "postgres://h@/h", 20 }, ""},
		{"unknown driver", func(d *Database) { d.Driver = "mysql" }, `config: database.driver: must be one of sqlite, postgres (got "mysql")`},
		{"empty driver", func(d *Database) { d.Driver = "" }, `config: database.driver: must be one of sqlite, postgres (got "")`},
		{"driver in upper case", func(d *Database) { d.Driver, d.DSN = "Postgres", "postgres://h@/h" }, `config: database.driver: must be one of sqlite, postgres (got "Postgres")`},
		{"postgres without a DSN", func(d *Database) { d.Driver = "postgres" },
			`config: database.dsn: is required when database.driver is "postgres" (set dsn, dsn_file or HELPDESKD_DATABASE_DSN)`},
		{"DSN with sqlite", func(d *Database) { d.DSN = "postgres://helpdeskd:" + password + "@db.example.com/helpdeskd" },
			`config: database.dsn: is set but database.driver is "sqlite", which uses database.path: set database.driver = "postgres"`},
		{"DSN of another scheme", func(d *Database) { d.Driver, d.DSN = "postgres", "mysql://root:"+password+"@db/helpdeskd" },
			"config: database.dsn: must be a postgres:// or postgresql:// URL, or key=value pairs"},
		{"DSN that is a path", func(d *Database) { d.Driver, d.DSN = "postgres", "/var/lib/helpdeskd/"+password },
			"config: database.dsn: must be a postgres:// or postgresql:// URL, or key=value pairs"},
		{"DSN URL that does not parse", func(d *Database) { d.Driver, d.DSN = "postgres", "postgres://u:"+password+"@db.example.com:port/x" },
			"config: database.dsn: must be a postgres:// or postgresql:// URL"},
		{"negative pool size", func(d *Database) { d.Driver, d.DSN, d.MaxConns = "postgres", "postgres://h@/h", -1 },
			"config: database.max_conns: must not be negative; 0 means the default of 16 connections (got -1)"},
		{"pool size past Postgres's limit", func(d *Database) { d.Driver, d.DSN, d.MaxConns = "postgres", "postgres://h@/h", 1<<31 },
			"config: database.max_conns: must be at most 262143"},
		{"largest pool size", func(d *Database) { d.Driver, d.DSN, d.MaxConns = "postgres", "postgres://h@/h", 262143 }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.mutate(&c.Database)
			err := c.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			wantErr(t, err, tc.want)
			if strings.Contains(err.Error(), password) {
				t.Errorf("error %q shows the DSN's password", err)
			}
		})
	}
}

// The DSN comes from the file, the environment or a dsn_file, as the other secrets do.
func TestLoad_DatabaseDSN(t *testing.T) {
	dir := t.TempDir()
	dsnFile := writeSecret(t, dir, "database_dsn", "postgres://helpdeskd:file-pw@db.example.com/helpdeskd\n")
	tests := []struct {
		name    string
		toml    string
		env     []string
		want    string // the DSN
		wantErr []string
	}{
		{name: "from dsn_file", toml: "[database]\ndriver = \"postgres\"\ndsn_file = \"" + dsnFile + "\"\n",
			want: "postgres://helpdeskd:file-pw@db.example.com/helpdeskd"},
		{name: "dsn_file in the credentials directory", toml: "[database]\ndriver = \"postgres\"\ndsn_file = \"${CREDENTIALS_DIRECTORY}/database_dsn\"\n",
			env: []string{"CREDENTIALS_DIRECTORY=" + dir}, want: "postgres://helpdeskd:file-pw@db.example.com/helpdeskd"},
		{name: "dsn_file from the environment", env: []string{"HELPDESKD_DATABASE_DRIVER=postgres", "HELPDESKD_DATABASE_DSN_FILE=" + dsnFile},
			want: "postgres://helpdeskd:file-pw@db.example.com/helpdeskd"},
		{name: "HELPDESKD_DATABASE_DSN", env: []string{"HELPDESKD_DATABASE_DRIVER=postgres", "HELPDESKD_DATABASE_DSN=postgres://env-user@/helpdeskd"},
			want: "postgres://env-user@/helpdeskd"},
		{name: "dsn and dsn_file", toml: "[database]\ndriver = \"postgres\"\ndsn = \"postgres://inline-user@/x\"\ndsn_file = \"" + dsnFile + "\"\n",
			wantErr: []string{"config: database.dsn: set either database.dsn or database.dsn_file, not both"}},
		{name: "HELPDESKD_DATABASE_DSN and dsn_file", toml: "[database]\ndriver = \"postgres\"\ndsn_file = \"" + dsnFile + "\"\n",
			env:     []string{"HELPDESKD_DATABASE_DSN=postgres://inline-user@/x"},
			wantErr: []string{"config: database.dsn: set either database.dsn or database.dsn_file, not both"}},
		{name: "credentials directory not set", toml: "[database]\ndriver = \"postgres\"\ndsn_file = \"${CREDENTIALS_DIRECTORY}/database_dsn\"\n",
			wantErr: []string{"config: database.dsn_file: ${CREDENTIALS_DIRECTORY}/database_dsn names ${CREDENTIALS_DIRECTORY}, which is not set"}},
		{name: "missing dsn_file", toml: "[database]\ndriver = \"postgres\"\ndsn_file = \"" + filepath.Join(dir, "nope") + "\"\n",
			wantErr: []string{"config: database.dsn_file: cannot read the file " + filepath.Join(dir, "nope")}},
		{name: "dsn_file with sqlite", toml: "[database]\ndsn_file = \"" + dsnFile + "\"\n",
			wantErr: []string{`config: database.dsn: is set but database.driver is "sqlite"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(writeTOML(t, tc.toml), tc.env)
			if tc.wantErr != nil {
				wantErr(t, err, tc.wantErr...)
				for _, s := range []string{"file-pw", "inline-user"} {
					if err != nil && strings.Contains(err.Error(), s) {
						t.Errorf("error %q shows the DSN", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Database.DSN != tc.want {
				t.Errorf("database.dsn = %q, want %q", c.Database.DSN, tc.want)
			}
			if r := c.Redacted(); r.Database.DSN != "REDACTED" {
				t.Errorf("Redacted().Database.DSN = %q", r.Database.DSN)
			}
		})
	}
}

func TestValidate_DisabledSectionsNeedNoHostsOrSecrets(t *testing.T) {
	c := Default()
	c.Email.Secret = ""
	c.Email.IMAP.Port = 0
	c.Email.IMAP.Security = "none"
	c.Email.IMAP.Password = "x"
	if err := c.Validate(); err != nil {
		t.Errorf("Validate() = %v, want nil for a disabled email section", err)
	}
}

func TestValidate_AllowsClearTextOnLoopback(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "localhost", "::1", "[::1]"} {
		c := Default()
		withEverythingOn(&c)
		c.Email.IMAP.Host, c.Email.IMAP.Security, c.Email.IMAP.Port = host, "none", 1143
		c.Email.SMTP.Host, c.Email.SMTP.Security, c.Email.SMTP.Port = host, "none", 2525
		if err := c.Validate(); err != nil {
			t.Errorf("host %s: Validate() = %v", host, err)
		}
	}
}

func TestValidate_ReportsEveryProblem(t *testing.T) {
	c := Default()
	c.Log.Level, c.Log.Format, c.Database.Path = "x", "y", ""
	err := c.Validate()
	wantErr(t, err, "log.level", "log.format", "database.path")
}

func TestLoad_SecretFiles(t *testing.T) {
	dir := t.TempDir()
	secret := writeSecret(t, dir, "secret", "0123456789abcdef-from-file\n")
	imapPass := writeSecret(t, dir, "imap", "imap-pass\r\n")
	smtpPass := writeSecret(t, dir, "smtp", "smtp-pass")
	token := writeSecret(t, dir, "token", "123:tok\n\n")
	empty := writeSecret(t, dir, "empty", "\n")
	missing := filepath.Join(dir, "missing")

	enabled := `
email.enabled = true
email.imap.host = "imap.example.com"
email.imap.username = "support"
email.smtp.host = "smtp.example.com"
telegram.enabled = true
`
	tests := []struct {
		name    string
		toml    string
		env     []string
		want    func(Config) bool
		wantErr []string
	}{
		{name: "from the file", toml: `
email.secret_file = "` + secret + `"
email.imap.password_file = "` + imapPass + `"
email.smtp.password_file = "` + smtpPass + `"
telegram.token_file = "` + token + `"
` + enabled, want: func(c Config) bool {
			return c.Email.Secret == "0123456789abcdef-from-file" && c.Email.IMAP.Password == "imap-pass" &&
				c.Email.SMTP.Password == "smtp-pass" && c.Telegram.Token == "123:tok"
		}},
		{name: "file named in the environment", toml: enabled, env: []string{
			"HELPDESKD_EMAIL_SECRET_FILE=" + secret,
			"HELPDESKD_EMAIL_IMAP_PASSWORD_FILE=" + imapPass,
			"HELPDESKD_TELEGRAM_TOKEN_FILE=" + token,
		}, want: func(c Config) bool {
			return c.Email.Secret == "0123456789abcdef-from-file" && c.Email.IMAP.Password == "imap-pass" && c.Telegram.Token == "123:tok"
		}},
		{name: "value and file both set", toml: "[telegram]\ntoken = \"123:inline-token\"\ntoken_file = \"" + token + "\"\n",
			wantErr: []string{"config: telegram.token: set either telegram.token or telegram.token_file, not both"}},
		{name: "value in the file, file in the environment", toml: "[email.imap]\npassword = \"inline-pass\"\n",
			env:     []string{"HELPDESKD_EMAIL_IMAP_PASSWORD_FILE=" + imapPass},
			wantErr: []string{"config: email.imap.password: set either email.imap.password or email.imap.password_file, not both"}},
		{name: "unreadable file", toml: "[email]\nenabled = true\nsecret_file = \"" + missing + "\"\n",
			wantErr: []string{"config: email.secret_file: cannot read the file " + missing + ": no such file or directory"}},
		{name: "in systemd's credentials directory", toml: enabled + `
email.secret_file = "${CREDENTIALS_DIRECTORY}/secret"
email.imap.password_file = "${CREDENTIALS_DIRECTORY}/imap"
email.smtp.password_file = "${CREDENTIALS_DIRECTORY}/smtp"
telegram.token_file = "${CREDENTIALS_DIRECTORY}/token"
`, env: []string{"CREDENTIALS_DIRECTORY=" + dir},
			want: func(c Config) bool {
				return c.Email.Secret == "0123456789abcdef-from-file" && c.Email.IMAP.Password == "imap-pass" &&
					c.Email.SMTP.Password == "smtp-pass" && c.Telegram.Token == "123:tok" &&
					c.Telegram.TokenFile == filepath.Join(dir, "token") // expanded, for Warnings and logs
			}},
		{name: "credentials directory named in the environment", toml: enabled + `
email.secret_file = "` + secret + `"
email.imap.password_file = "` + imapPass + `"
telegram.token_file = "` + token + `"
`, env: []string{"HELPDESKD_EMAIL_SMTP_PASSWORD_FILE=${CREDENTIALS_DIRECTORY}/smtp", "CREDENTIALS_DIRECTORY=" + dir},
			want: func(c Config) bool { return c.Email.SMTP.Password == "smtp-pass" }},
		{name: "the files of a channel that is off are not read", toml: `
email.secret_file = "` + missing + `"
email.imap.password_file = "${CREDENTIALS_DIRECTORY}/imap"
telegram.token_file = "` + empty + `"
`, want: func(c Config) bool {
			return c.Email.Secret == "" && c.Email.IMAP.Password == "" && c.Telegram.Token == "" && c.Warnings() == nil
		}},
		{name: "credentials directory not set", toml: "[telegram]\nenabled = true\ntoken_file = \"${CREDENTIALS_DIRECTORY}/token\"\n",
			wantErr: []string{"config: telegram.token_file: ${CREDENTIALS_DIRECTORY}/token names ${CREDENTIALS_DIRECTORY}, which is not set"}},
		{name: "credentials directory empty", toml: "[telegram]\nenabled = true\ntoken_file = \"${CREDENTIALS_DIRECTORY}/token\"\n",
			env:     []string{"CREDENTIALS_DIRECTORY="},
			wantErr: []string{"config: telegram.token_file:", "which is not set"}},
		{name: "no other variable is expanded", toml: "[telegram]\nenabled = true\ntoken_file = \"$CREDENTIALS_DIRECTORY/token\"\n",
			env:     []string{"CREDENTIALS_DIRECTORY=" + dir},
			wantErr: []string{"config: telegram.token_file: cannot read the file $CREDENTIALS_DIRECTORY/token"}},
		{name: "missing file in the credentials directory", toml: "[telegram]\nenabled = true\ntoken_file = \"${CREDENTIALS_DIRECTORY}/nope\"\n",
			env:     []string{"CREDENTIALS_DIRECTORY=" + dir},
			wantErr: []string{"config: telegram.token_file: cannot read the file " + filepath.Join(dir, "nope") + ":"}},
		{name: "a directory is not a file", toml: "email.enabled = true\n[email.smtp]\npassword_file = \"" + dir + "\"\n",
			wantErr: []string{"config: email.smtp.password_file: cannot read the file"}},
		{name: "empty file", toml: "[telegram]\nenabled = true\ntoken_file = \"" + empty + "\"\n",
			wantErr: []string{"config: telegram.token_file: file", "is empty"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(writeTOML(t, tc.toml), tc.env)
			if tc.wantErr != nil {
				wantErr(t, err, tc.wantErr...)
				for _, s := range []string{"inline-token", "inline-pass", "123:tok", "imap-pass"} {
					if err != nil && strings.Contains(err.Error(), s) {
						t.Errorf("error %q shows a secret", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.want(c) {
				t.Errorf("secrets not read: %+v", c.Redacted())
			}
		})
	}
}

func TestLoad_ErrorsNeverShowSecrets(t *testing.T) {
	const secret = "hunter2-very-secret"
	tests := []struct {
		name string
		toml string
		env  []string
	}{
		{"unquoted secret is a syntax error", "[email.imap]\npassword = " + secret + "\n", nil},
		{"bad escape in a secret", "[email.imap]\npassword = \"" + secret + "\\q\"\n", nil},
		{"secret given for an integer from the environment", "", []string{"HELPDESKD_EMAIL_IMAP_PORT=" + secret}},
		{"secret in an unknown variable", "", []string{"HELPDESKD_EMAIL_PASSWORD=" + secret}},
		{"secret with other errors", "[email]\nenabled = true\nsecret = \"" + secret + "x\"\n[log]\nlevel = \"" + "loud\"\n", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(writeTOML(t, tc.toml), tc.env)
			if err == nil {
				t.Fatal("got no error")
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "'h'") {
				t.Errorf("error %q shows (part of) the secret", err)
			}
		})
	}
}

func TestFields_EveryKeyHasAUniqueVariableAndCanBeSetFromIt(t *testing.T) {
	seen := map[string]string{}
	for _, f := range fields() {
		if other, dup := seen[f.env]; dup {
			t.Errorf("%s and %s share the variable %s", f.key, other, f.env)
		}
		seen[f.env] = f.key
		v := reflect.New(f.typ).Elem()
		if err := setString(v, ""); err != nil && strings.Contains(err.Error(), "cannot be set") {
			t.Errorf("%s (%s) cannot be set from the environment", f.key, f.typ)
		}
	}
	// Every exported field is a key: a field without a toml tag would be silently skipped.
	var walk func(reflect.Type)
	walk = func(rt reflect.Type) {
		for i := range rt.NumField() {
			sf := rt.Field(i)
			if sf.IsExported() && tomlName(sf) == "" {
				t.Errorf("%s.%s has no toml tag", rt.Name(), sf.Name)
			}
			if !isLeaf(sf.Type) {
				walk(sf.Type)
			}
		}
	}
	walk(reflect.TypeFor[Config]())
	if len(seen) < 40 {
		t.Errorf("found only %d keys", len(seen))
	}
}

func TestConfig_Redacted(t *testing.T) {
	c := Default()
	withEverythingOn(&c)
	r := c.Redacted()
	for _, s := range []string{r.Email.Secret, r.Email.IMAP.Password, r.Email.SMTP.Password, r.Telegram.Token} {
		if s != "REDACTED" {
			t.Errorf("secret not redacted: %q", s)
		}
	}
	if c.Telegram.Token == "REDACTED" || r.Email.IMAP.Host != c.Email.IMAP.Host {
		t.Error("Redacted changed the original or a non-secret")
	}
	if d := Default().Redacted(); d.Email.Secret != "" {
		t.Error("an unset secret became REDACTED")
	}
}

func TestHelpers(t *testing.T) {
	tests := []struct {
		name      string
		got, want any
	}{
		{"attachments next to the database", Database{Path: "data/helpdeskd.db"}.AttachmentsPath(), filepath.Join("data", "attachments")},
		{"attachments dir set", Database{Path: "x.db", AttachmentsDir: "/srv/a"}.AttachmentsPath(), "/srv/a"},
		{"ticket link", Panel{TicketURL: "https://p.example.com/t/{id}?x={id}"}.TicketLink(42), "https://p.example.com/t/42?x=42"},
		{"no panel", Panel{}.TicketLink(42), ""},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	e := Email{TopicByAddress: map[string]int{"billing@example.com": 3, "Mixed@Example.com": 4}}
	for addr, want := range map[string]int{"Billing@Example.COM": 3, "mixed@example.com": 4} {
		if got, ok := e.TopicFor(addr); !ok || got != want {
			t.Errorf("TopicFor(%q) = %d, %v; want %d", addr, got, ok, want)
		}
	}
	if _, ok := e.TopicFor("other@example.com"); ok {
		t.Error("TopicFor found an unlisted address")
	}
}

func TestDuration_Text(t *testing.T) {
	var d Duration
	if err := d.UnmarshalText([]byte(" 1m30s ")); err != nil || d.D() != 90*time.Second {
		t.Errorf("UnmarshalText = %v, %v", d, err)
	}
	if b, _ := d.MarshalText(); string(b) != "1m30s" {
		t.Errorf("MarshalText = %s", b)
	}
	if err := d.UnmarshalText([]byte("30")); err == nil {
		t.Error("a number without a unit was accepted")
	}
}
