// Package config turns helpdeskd's configuration — a TOML file, HELPDESKD_* environment
// variables and *_file secrets, applied in that order — into one validated Config value, and
// reports every unknown key, wrong type or impossible value with a message that names the key
// (or the environment variable) and never shows a secret. It is a leaf: it imports only the
// standard library and the TOML decoder, and must not know about the rest of the program (no
// core, gateway or adapter types); main hands the plain values it returns to the parts it wires.
package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Limits and names that the configuration relies on.
const (
	// EnvPrefix starts every environment variable that sets a key.
	EnvPrefix = "HELPDESKD_"
	// EnvConfigFile is the variable that may name the configuration file. Load does not read
	// it (the caller passes the path) but does not reject it as an unknown key either.
	EnvConfigFile = "HELPDESKD_CONFIG"
	// EnvTestPrefix starts variables that test scripts use to find their servers; Load ignores
	// them so a daemon started by a test script does not refuse to start.
	EnvTestPrefix = "HELPDESKD_TEST_"

	// MaxTopic is the highest ticket topic number (topics are 0..MaxTopic).
	MaxTopic = 5
	// FormFieldsRoom is how many bytes server.max_body_bytes must allow beyond
	// attachments.max_bytes, for the other form fields of a multipart request.
	FormFieldsRoom = 1 << 20
	// MinSecretLen is the shortest accepted email.secret (the HMAC key of reply tokens).
	MinSecretLen = 16
	// MaxDatabaseConns is the largest database.max_conns: Postgres's largest
	// max_connections (2^18 - 1), which also fits the pool's int32.
	MaxDatabaseConns = 262143
)

// Config is the whole configuration of the daemon. The toml tags are the keys of the file;
// the environment variable of a key is EnvPrefix followed by its dotted path in upper case
// with dots turned into underscores (email.imap.host → HELPDESKD_EMAIL_IMAP_HOST).
type Config struct {
	Server      Server      `toml:"server"`
	Database    Database    `toml:"database"`
	Attachments Attachments `toml:"attachments"`
	Tickets     Tickets     `toml:"tickets"`
	Email       Email       `toml:"email"`
	Telegram    Telegram    `toml:"telegram"`
	Notify      Notify      `toml:"notify"`
	Panel       Panel       `toml:"panel"`
	Webhooks    Webhooks    `toml:"webhooks"`
	SLA         SLA         `toml:"sla"`
	Retention   Retention   `toml:"retention"`
	Log         Log         `toml:"log"`
}

// Server is the HTTP server of the REST API.
type Server struct {
	Listen          string   `toml:"listen"`
	ShutdownTimeout Duration `toml:"shutdown_timeout"`
	ReadTimeout     Duration `toml:"read_timeout"`  // 0 = no limit
	WriteTimeout    Duration `toml:"write_timeout"` // 0 = no limit
	MaxBodyBytes    int64    `toml:"max_body_bytes"`
	// RateLimitPerSecond is how many requests per second one API key may make on average;
	// RateLimitBurst is how many it may make at once. 0 turns the limit off.
	RateLimitPerSecond float64 `toml:"rate_limit_per_second"`
	RateLimitBurst     int     `toml:"rate_limit_burst"`
	// FailedAuthPerMinute is how many failed authentications (no key, a wrong key) one client
	// address may have per minute on average; FailedAuthBurst how many at once. Past it the
	// address is answered 429 before any key is looked up. 0 turns the limit off.
	FailedAuthPerMinute float64 `toml:"failed_auth_per_minute"`
	FailedAuthBurst     int     `toml:"failed_auth_burst"`
	// Metrics serves GET /metrics; MetricsListen moves it to a listener of its own
	// (host:port), "" keeping it on Listen.
	Metrics       bool   `toml:"metrics"`
	MetricsListen string `toml:"metrics_listen"`
}

// Database drivers (database.driver).
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// Database is the store: the driver, where its data lives (the SQLite file, or the Postgres
// server of DSN), and where the attachment blobs live.
type Database struct {
	Driver         string `toml:"driver"`          // DriverSQLite or DriverPostgres
	Path           string `toml:"path"`            // the SQLite file (driver sqlite)
	AttachmentsDir string `toml:"attachments_dir"` // "" = AttachmentsPath()'s default
	// DSN is the Postgres server and database (driver postgres), a postgres:// URL or
	// key=value pairs; it may hold a password, so it is a secret.
	DSN     string `toml:"dsn" secret:"true"`
	DSNFile string `toml:"dsn_file"`
	// MaxConns is the size of the Postgres connection pool; 0 = postgres.DefaultMaxConns (16).
	MaxConns int `toml:"max_conns"`
	// LeaseTTL is how long a node holds a singleton job's lease (the IMAP poller, the
	// Telegram poller) without renewing it (driver postgres, several nodes): when the
	// holder dies another node takes the job over within it.
	LeaseTTL Duration `toml:"lease_ttl"`
}

// AttachmentsPath returns AttachmentsDir, or "attachments" next to the database file when it
// is empty.
func (d Database) AttachmentsPath() string {
	if d.AttachmentsDir != "" {
		return d.AttachmentsDir
	}
	return filepath.Join(filepath.Dir(d.Path), "attachments")
}

// Attachments limits uploaded and mailed files.
type Attachments struct {
	MaxBytes int64 `toml:"max_bytes"`
}

// Tickets holds ticket workflow switches.
type Tickets struct {
	// StaffReplyInProgress makes a staff reply on an Open ticket set it In Progress.
	StaffReplyInProgress bool `toml:"staff_reply_in_progress"`
	// AutoCloseAfter closes a Resolved ticket whose customer has not written for that long
	// (0: never, the default); AutoCloseReminder reminds the customer that long before the
	// close (0: no reminder). docs/operations.md, "Auto-close".
	AutoCloseAfter    Duration `toml:"auto_close_after"`
	AutoCloseReminder Duration `toml:"auto_close_reminder"`
}

// Email is the email gateway: IMAP in, SMTP out.
type Email struct {
	Enabled     bool   `toml:"enabled"`
	Address     string `toml:"address"`
	Name        string `toml:"name"`
	ReplyTokens bool   `toml:"reply_tokens"`
	Secret      string `toml:"secret" secret:"true"`
	SecretFile  string `toml:"secret_file"`
	// TopicByAddress maps a recipient address (lower case after Load) to a topic 0..MaxTopic.
	TopicByAddress map[string]int `toml:"topic_by_address"`
	// TrustedAuthservIDs names our own receiving servers: only an Authentication-Results
	// header with one of these authserv-ids, above every header a sender could have written,
	// says whether a mail's From is genuine.
	TrustedAuthservIDs []string `toml:"trusted_authserv_ids"`
	// VerifyDKIM makes the daemon check DKIM signatures itself (DNS lookups per mail).
	VerifyDKIM bool `toml:"verify_dkim"`
	// RequireAuthenticatedStaff applies a staff member's mail only when it is authenticated
	// or was sent to that staff member's own reply address.
	RequireAuthenticatedStaff bool `toml:"require_authenticated_staff"`
	IMAP                      IMAP `toml:"imap"`
	SMTP                      SMTP `toml:"smtp"`
}

// TopicFor returns the topic configured for a recipient address, case-insensitively.
func (e Email) TopicFor(address string) (topic int, ok bool) {
	address = strings.ToLower(strings.TrimSpace(address))
	if t, ok := e.TopicByAddress[address]; ok {
		return t, true
	}
	for k, t := range e.TopicByAddress {
		if strings.EqualFold(k, address) {
			return t, true
		}
	}
	return 0, false
}

// Connection security of a mail server connection.
const (
	SecurityTLS      = "tls"
	SecurityStartTLS = "starttls"
	SecurityNone     = "none"
)

// IMAP is the inbound mailbox.
type IMAP struct {
	Host             string   `toml:"host"`
	Port             int      `toml:"port"`
	Security         string   `toml:"security"`
	Username         string   `toml:"username"`
	Password         string   `toml:"password" secret:"true"`
	PasswordFile     string   `toml:"password_file"`
	Mailbox          string   `toml:"mailbox"`
	ProcessedMailbox string   `toml:"processed_mailbox"`
	FailedMailbox    string   `toml:"failed_mailbox"`
	IDLE             bool     `toml:"idle"`
	PollInterval     Duration `toml:"poll_interval"`
}

// SMTP is the outbound mail server.
type SMTP struct {
	Host         string `toml:"host"`
	Port         int    `toml:"port"`
	Security     string `toml:"security"`
	Username     string `toml:"username"`
	Password     string `toml:"password" secret:"true"`
	PasswordFile string `toml:"password_file"`
}

// Telegram is the Telegram bot.
type Telegram struct {
	Enabled     bool   `toml:"enabled"`
	Token       string `toml:"token" secret:"true"`
	TokenFile   string `toml:"token_file"`
	APIURL      string `toml:"api_url"`
	StaffChatID int64  `toml:"staff_chat_id"` // 0 = no staff chat
	// StaffTopics gives every ticket a forum topic in the staff chat even when Telegram
	// does not say the chat is a forum; a forum supergroup gets them without it.
	StaffTopics bool   `toml:"staff_topics"`
	BotUsername string `toml:"bot_username"` // without "@"; for deep links, may be empty
}

// Notify configures who is told about new tickets.
type Notify struct {
	StaffEmails []string `toml:"staff_emails"`
	// MaxAttempts is how many times a notification is tried before it is marked failed.
	MaxAttempts int `toml:"max_attempts"`
	// RetryDelay is the wait after the first failed attempt; it doubles after each one up
	// to MaxRetryDelay.
	RetryDelay    Duration `toml:"retry_delay"`
	MaxRetryDelay Duration `toml:"max_retry_delay"`
	// DefaultLanguage is the language of users who have none (BCP 47; en, es, ru and bg
	// are shipped, any other falls back to English).
	DefaultLanguage string `toml:"default_language"`
	// TemplatesDir, when set, holds templates that replace the embedded ones of the same
	// names (docs/email.md).
	TemplatesDir string `toml:"templates_dir"`
}

// Webhooks configures the delivery of changes to the panels' webhooks (docs/webhooks.md).
type Webhooks struct {
	// RetryInitial is the wait before the first retry of a failed delivery; it doubles after
	// each up to RetryMaxInterval, and deliveries are retried until RetryFor has passed.
	RetryInitial     Duration `toml:"retry_initial"`
	RetryMaxInterval Duration `toml:"retry_max_interval"`
	RetryFor         Duration `toml:"retry_for"`
	// Timeout bounds one attempt, from connecting to the end of the answer.
	Timeout Duration `toml:"timeout"`
	// AllowPrivate lets webhooks reach loopback, link-local and private addresses.
	AllowPrivate bool `toml:"allow_private"`
}

// Panel is the customer panel that links point to.
type Panel struct {
	// TicketURL is a URL template; "{id}" is replaced by the ticket ID. Empty = no links.
	TicketURL string `toml:"ticket_url"`
}

// TicketLink returns the panel link of a ticket, or "" when no panel is configured.
func (p Panel) TicketLink(id int64) string {
	if p.TicketURL == "" {
		return ""
	}
	return strings.ReplaceAll(p.TicketURL, "{id}", strconv.FormatInt(id, 10))
}

// Log configures the slog handler.
type Log struct {
	Level  string `toml:"level"`  // debug, info, warn, error
	Format string `toml:"format"` // text, json
}

// Default returns the built-in defaults: what a configuration without any key means.
func Default() Config {
	return Config{
		Server: Server{
			Listen:          "127.0.0.1:8080",
			ShutdownTimeout: Duration{15 * time.Second},
			ReadTimeout:     Duration{30 * time.Second},
			WriteTimeout:    Duration{60 * time.Second},
			MaxBodyBytes:    12 << 20,
			// A panel serving many customers through one key stays far below this; a runaway
			// script does not.
			RateLimitPerSecond: 50,
			RateLimitBurst:     100,
			// A client with a mistyped key stops long before this; a key guesser is slowed
			// to a few hundred tries an hour per address.
			FailedAuthPerMinute: 10,
			FailedAuthBurst:     20,
			Metrics:             true,
		},
		Database: Database{
			Driver:   DriverSQLite,
			Path:     "data/helpdeskd.db",
			LeaseTTL: Duration{15 * time.Second},
		},
		Attachments: Attachments{
			MaxBytes: 10 << 20,
		},
		Email: Email{
			Address:     "support@example.com",
			Name:        "Support",
			ReplyTokens: true,
			// A forged From of a staff member must not post a staff reply to a customer.
			RequireAuthenticatedStaff: true,
			IMAP: IMAP{
				Port:             993,
				Security:         SecurityTLS,
				Mailbox:          "INBOX",
				ProcessedMailbox: "helpdesk/processed",
				FailedMailbox:    "helpdesk/failed",
				IDLE:             true,
				PollInterval:     Duration{30 * time.Second},
			},
			SMTP: SMTP{
				Port:     587,
				Security: SecurityStartTLS,
			},
		},
		Telegram: Telegram{
			APIURL: "https://api.telegram.org",
		},
		Notify: Notify{
			MaxAttempts:     8,
			DefaultLanguage: "en",
			RetryDelay:      Duration{30 * time.Second},
			MaxRetryDelay:   Duration{time.Hour},
		},
		Webhooks: Webhooks{
			RetryInitial:     Duration{30 * time.Second},
			RetryMaxInterval: Duration{time.Hour},
			RetryFor:         Duration{24 * time.Hour},
			Timeout:          Duration{10 * time.Second},
		},
		SLA: SLA{
			WarnBefore: Duration{30 * time.Minute},
		},
		Log: Log{
			Level:  "info",
			Format: "text",
		},
	}
}

// Load builds the configuration: Default, then the TOML file at path (none when path is ""),
// then the HELPDESKD_* variables of env (entries "NAME=value", as os.Environ returns), then the
// secrets named by *_file keys (where env's CREDENTIALS_DIRECTORY fills in
// ${CREDENTIALS_DIRECTORY}), then Validate. Relative paths are relative to the working
// directory. On any problem it returns an error naming every offending key and no Config.
func Load(path string, env []string) (Config, error) {
	c := Default()
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return Config{}, fmt.Errorf("config: read configuration file: %w", err)
		}
		if err := decodeTOML(path, data, &c); err != nil {
			return Config{}, err
		}
	}
	if err := applyEnv(&c, env); err != nil {
		return Config{}, err
	}
	if err := readSecretFiles(&c, env); err != nil {
		return Config{}, err
	}
	if err := c.normalize(); err != nil {
		return Config{}, err
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// normalize puts values in their canonical form: topic addresses in lower case, empty lists
// and tables as nil, the bot username without "@".
func (c *Config) normalize() error {
	if len(c.Email.TopicByAddress) == 0 {
		c.Email.TopicByAddress = nil
	} else {
		m := make(map[string]int, len(c.Email.TopicByAddress))
		for k, v := range c.Email.TopicByAddress {
			lk := strings.ToLower(strings.TrimSpace(k))
			if _, dup := m[lk]; dup {
				return &Error{Key: "email.topic_by_address", Msg: fmt.Sprintf("address %q is listed twice", lk)}
			}
			m[lk] = v
		}
		c.Email.TopicByAddress = m
	}
	if len(c.Notify.StaffEmails) == 0 {
		c.Notify.StaffEmails = nil
	}
	// authserv-ids compare case-insensitively (RFC 8601 §2.5).
	var ids []string
	for _, id := range c.Email.TrustedAuthservIDs {
		if id = strings.ToLower(strings.TrimSpace(id)); id != "" {
			ids = append(ids, id)
		}
	}
	c.Email.TrustedAuthservIDs = ids
	c.Telegram.BotUsername = strings.TrimPrefix(c.Telegram.BotUsername, "@")
	c.SLA.normalize()
	return nil
}
