package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/helpdeskd/helpdeskd/config"
)

const unitFile = "../../deploy/helpdeskd.service"

// unitSettings reads the Key=Value lines of a unit file; a key set twice keeps both.
func unitSettings(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '[' {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			out[k] = append(out[k], v)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// The unit runs the daemon as its own user in a read-only system with the secrets passed
// as credentials; a setting dropped by an edit fails here before it reaches a server.
func TestDeployUnit_Hardening(t *testing.T) {
	got := unitSettings(t, unitFile)
	tests := []struct{ key, want string }{
		{"User", "helpdeskd"},
		{"ExecStart", "/usr/local/bin/helpdeskd serve -config /etc/helpdeskd/helpdeskd.toml"},
		{"StateDirectory", "helpdeskd"},
		{"ConfigurationDirectory", "helpdeskd"},
		{"Restart", "on-failure"},
		{"ProtectSystem", "strict"},
		{"ProtectHome", "yes"},
		{"PrivateTmp", "yes"},
		{"NoNewPrivileges", "yes"},
		{"CapabilityBoundingSet", ""},
		{"RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"},
		{"SystemCallFilter", "@system-service"},
		{"LoadCredential", "email_secret:helpdeskd.email_secret"},
		{"LoadCredential", "imap_password:helpdeskd.imap_password"},
		{"LoadCredential", "smtp_password:helpdeskd.smtp_password"},
		{"LoadCredential", "telegram_token:helpdeskd.telegram_token"},
	}
	for _, tt := range tests {
		found := false
		for _, v := range got[tt.key] {
			found = found || v == tt.want
		}
		if !found {
			t.Errorf("%s=%s missing from %s (have %q)", tt.key, tt.want, unitFile, got[tt.key])
		}
	}
}

// Every credential the unit loads is one that the example configuration for it reads.
func TestDeployUnit_CredentialsMatchTheConfig(t *testing.T) {
	toml, err := os.ReadFile(deployConfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, lc := range unitSettings(t, unitFile)["LoadCredential"] {
		id, _, _ := strings.Cut(lc, ":")
		if !strings.Contains(string(toml), `"${CREDENTIALS_DIRECTORY}/`+id+`"`) {
			t.Errorf("deploy/helpdeskd.toml names no ${CREDENTIALS_DIRECTORY}/%s", id)
		}
	}
}

// systemd-analyze verify passes the unit without a word. verify fails a unit whose
// ExecStart binary does not exist, so a copy of it starts this test binary instead.
func TestDeployUnit_SystemdAnalyzeVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed (Debian: apt-get install systemd); or run deploy/verify-unit.sh")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	unit, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	const bin = "ExecStart=/usr/local/bin/helpdeskd "
	if !strings.Contains(string(unit), bin) {
		t.Fatalf("%s has no %q", unitFile, bin)
	}
	copyPath := filepath.Join(t.TempDir(), "helpdeskd.service")
	if err := os.WriteFile(copyPath, []byte(strings.Replace(string(unit), bin, "ExecStart="+self+" ", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", copyPath).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// The configuration shipped for the unit loads as it is, and with email and Telegram on it
// reads every secret from the unit's credentials directory.
func TestDeployConfig_Loads(t *testing.T) {
	if _, err := config.Load(deployConfig, nil); err != nil {
		t.Fatalf("as shipped: %v", err)
	}
	creds := t.TempDir()
	for _, id := range []string{"email_secret", "imap_password", "smtp_password", "telegram_token"} {
		if err := os.WriteFile(filepath.Join(creds, id), []byte("0123456789abcdef-"+id+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c, err := config.Load(channelsOn(t), []string{"CREDENTIALS_DIRECTORY=" + creds})
	if err != nil {
		t.Fatalf("channels on: %v", err)
	}
	if !c.Email.Enabled || !c.Telegram.Enabled || c.Email.Secret != "0123456789abcdef-email_secret" ||
		c.Email.IMAP.Password != "0123456789abcdef-imap_password" || c.Email.SMTP.Password != "0123456789abcdef-smtp_password" ||
		c.Telegram.Token != "0123456789abcdef-telegram_token" {
		t.Errorf("channels on: %+v", c.Redacted())
	}
}

const deployConfig = "../../deploy/helpdeskd.toml"

// channelsOn writes deploy/helpdeskd.toml with email and Telegram on and returns its path.
func channelsOn(t *testing.T) string {
	t.Helper()
	body, err := os.ReadFile(deployConfig)
	if err != nil {
		t.Fatal(err)
	}
	on := strings.ReplaceAll(string(body), "\nenabled = false\n", "\nenabled = true\n")
	if strings.Count(on, "\nenabled = true\n") != 2 {
		t.Fatalf("%s: expected two channels that are off", deployConfig)
	}
	path := filepath.Join(t.TempDir(), "helpdeskd.toml")
	if err := os.WriteFile(path, []byte(on), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// With the channels on and their secrets given to the service alone, the commands that use
// no channel still run beside it (no CREDENTIALS_DIRECTORY: an operator's shell), while
// serve says which secret it cannot find.
func TestCLI_CommandsWithoutChannelsNeedNoSecrets(t *testing.T) {
	cfg := channelsOn(t)
	dir := t.TempDir()
	env := []string{"HELPDESKD_DATABASE_PATH=" + filepath.Join(dir, "helpdeskd.db")}
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"migrate", "-config", cfg}, exitOK, "is up to date"},
		{[]string{"admin", "account", "put", "-config", cfg, "--id", "1", "--name", "Acme"}, exitOK, `account 1 "Acme"`},
		{[]string{"admin", "check", "-config", cfg}, exitOK, "integrity ok"},
		{[]string{"admin", "backup", "-config", cfg, dir}, exitOK, "backup " + dir},
		{[]string{"serve", "-config", cfg}, exitError, "email.secret_file: ${CREDENTIALS_DIRECTORY}/email_secret names ${CREDENTIALS_DIRECTORY}, which is not set"},
		{[]string{"admin", "mail", "reprocess", "-config", cfg}, exitError, "which is not set"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args[:2], " "), func(t *testing.T) {
			code, out, errOut := runCLI(t, env, tt.args...)
			if code != tt.code || !strings.Contains(out+errOut, tt.want) {
				t.Errorf("exit %d, %q %q; want exit %d and %q", code, out, errOut, tt.code, tt.want)
			}
		})
	}
}
