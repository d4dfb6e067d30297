package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/config"
)

// daemonStart bounds the wait for a child daemon to answer: a bound for a broken start, not
// a speed assertion.
const daemonStart = 30 * time.Second

// TestMain lets the test binary stand in for the helpdeskd binary: the crash tests run
// it as a child process with this variable set, so they test the real main.
func TestMain(m *testing.M) {
	if os.Getenv("HELPDESKD_TEST_AS_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

func runCLI(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Run(context.Background(), args, &out, &errOut, env)
	return code, out.String(), errOut.String()
}

func writeConfig(t *testing.T, dir, listen string) string {
	t.Helper()
	path := filepath.Join(dir, "helpdeskd.toml")
	body := fmt.Sprintf("[server]\nlisten = %q\n\n[database]\n%s", listen, databaseTOML(t, filepath.Join(dir, "data", "helpdeskd.db")))
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCLI_VersionAndUsage(t *testing.T) {
	if code, out, _ := runCLI(t, nil, "version"); code != 0 || !strings.HasPrefix(out, "helpdeskd ") {
		t.Errorf("version: %d %q", code, out)
	}
	for _, args := range [][]string{{}, {"frobnicate"}, {"admin", "user"}, {"admin", "user", "put", "--bogus"}, {"serve", "extra"}} {
		if code, _, errOut := runCLI(t, nil, args...); code != exitUsage || !strings.Contains(errOut, "Usage:") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
}

func TestCLI_ConfigErrorNamesTheKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.toml")
	os.WriteFile(path, []byte("[server]\nlisen = \"x\"\n"), 0o600)
	code, _, errOut := runCLI(t, nil, "migrate", "-config", path)
	if code != exitError || !strings.Contains(errOut, "server.lisen") {
		t.Errorf("unknown key: exit %d, %q", code, errOut)
	}
	code, _, errOut = runCLI(t, []string{"HELPDESKD_SERVER_LISTEN=nonsense"}, "migrate", "-config", writeConfig(t, dir, "127.0.0.1:0"))
	if code != exitError || !strings.Contains(errOut, "server.listen") {
		t.Errorf("bad env: exit %d, %q", code, errOut)
	}
}

func TestCLI_ProvisioningAndErrors(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "127.0.0.1:0")
	steps := []struct {
		args     []string
		code     int
		contains string
	}{
		{[]string{"migrate", "-config", cfg}, 0, "up to date"},
		{[]string{"admin", "account", "put", "-config", cfg, "--id", "1", "--name", "Acme"}, 0, `account 1 "Acme"`},
		{[]string{"admin", "account", "put", "-config", cfg, "--id", "1", "--name", "Acme Ltd"}, 0, `account 1 "Acme Ltd"`},
		{[]string{"admin", "property", "put", "-config", cfg, "--id", "7", "--account", "1", "--name", "acme.example"}, 0, "property 7"},
		{[]string{"admin", "user", "put", "-config", cfg, "--id", "3", "--email", "Ann@Acme.example", "--name", "Ann", "--account", "1"}, 0, "ann@acme.example (customer) accounts [1]"},
		{[]string{"admin", "user", "put", "-config", cfg, "--id", "4", "--email", "not-an-address", "--name", "X", "--account", "1"}, 1, "email"},
		{[]string{"admin", "user", "put", "-config", cfg, "--id", "4", "--email", "x@acme.example", "--name", "X", "--account", "99"}, 1, "account 99 does not exist"},
		{[]string{"admin", "property", "put", "-config", cfg, "--id", "8", "--account", "1", "--name", ""}, 1, "name: must not be empty"},
		{[]string{"admin", "apikey", "create", "-config", cfg, "--user", "42"}, 1, "User 42 not found"},
	}
	for _, s := range steps {
		code, out, errOut := runCLI(t, nil, s.args...)
		if code != s.code || !strings.Contains(out+errOut, s.contains) {
			t.Errorf("%v: exit %d (want %d), out %q, err %q (want %q)", s.args, code, s.code, out, errOut, s.contains)
		}
	}
	code, out, errOut := runCLI(t, nil, "admin", "apikey", "create", "-config", cfg, "--user", "3")
	key := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(key, "hdk_") || strings.Count(out, "\n") != 1 {
		t.Fatalf("apikey create: %d %q %q", code, out, errOut)
	}
}

// daemon is helpdeskd serve running as a child process.
type daemon struct {
	cmd  *exec.Cmd
	base string
	logs *logBuffer
}

// logBuffer is the child's output. exec copies it in from a goroutine of its own while the
// test reads it (to show the log in a failure), so both go through the mutex.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

func (b *logBuffer) String() string { return string(b.Bytes()) }

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startDaemon(t *testing.T, cfg, addr string) *daemon {
	t.Helper()
	cmd := exec.Command(os.Args[0], "serve", "-config", cfg)
	cmd.Env = append(os.Environ(), "HELPDESKD_TEST_AS_MAIN=1")
	d := &daemon{cmd: cmd, base: "http://" + addr, logs: &logBuffer{}}
	cmd.Stdout, cmd.Stderr = d.logs, d.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if c, err := config.Load(cfg, os.Environ()); err == nil {
		registerSecrets(t, configSecrets(c)...)
	}
	t.Cleanup(func() { checkLogOutput(t, d.logs.Bytes()) }) // runs after the daemon has ended
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	eventually(t, daemonStart, func() error {
		resp, err := http.Get(d.base + "/healthz")
		if err != nil {
			return fmt.Errorf("daemon did not come up: %v; log:\n%s", err, d.logs)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("daemon did not come up: /healthz %d; log:\n%s", resp.StatusCode, d.logs)
		}
		return nil
	})
	return d
}

func provision(t *testing.T, cfg string) string {
	t.Helper()
	for _, args := range [][]string{
		{"admin", "account", "put", "-config", cfg, "--id", "1", "--name", "Acme"},
		{"admin", "user", "put", "-config", cfg, "--id", "1", "--email", "ann@acme.example", "--name", "Ann", "--account", "1"},
	} {
		if code, out, errOut := runCLI(t, nil, args...); code != 0 {
			t.Fatalf("%v: %s %s", args, out, errOut)
		}
	}
	_, out, _ := runCLI(t, nil, "admin", "apikey", "create", "-config", cfg, "--user", "1")
	registerSecrets(t, strings.TrimSpace(out))
	return strings.TrimSpace(out)
}

func createTicket(client *http.Client, base, key, subject string) (int64, error) {
	body, _ := json.Marshal(map[string]any{"subject": subject, "description": "kill -9 test"})
	req, _ := http.NewRequest("POST", base+"/api/Ticket?accountId=1", bytes.NewReader(body))
	req.Header.Set("X-API-Key", key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var env struct {
		Data struct {
			ID      int64  `json:"id"`
			Subject string `json:"subject"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusCreated || env.Data.Subject != subject {
		return 0, fmt.Errorf("status %d", resp.StatusCode)
	}
	return env.Data.ID, nil
}

func listAll(t *testing.T, base, key string) map[int64]string {
	t.Helper()
	got := map[int64]string{}
	for page := 1; ; page++ {
		req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/Ticket?accountId=1&pageSize=100&pageNumber=%d", base, page), nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var env struct {
			Data []struct {
				ID      int64  `json:"id"`
				Subject string `json:"subject"`
			} `json:"data"`
			TotalPages int `json:"totalPages"`
		}
		err = json.NewDecoder(resp.Body).Decode(&env)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("list page %d: %d %v", page, resp.StatusCode, err)
		}
		for _, d := range env.Data {
			if _, dup := got[d.ID]; dup {
				t.Fatalf("ticket %d listed twice", d.ID)
			}
			got[d.ID] = d.Subject
		}
		if page >= env.TotalPages {
			return got
		}
	}
}

// TestKill9_EveryAcknowledgedTicketSurvives creates tickets from concurrent clients, kills
// the daemon with SIGKILL in the middle, restarts it, and checks that every ticket whose
// creation was answered 201 is there, with the subject it was given.
func TestKill9_EveryAcknowledgedTicketSurvives(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the daemon as a child process several times; run without -short")
	}
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := writeConfig(t, dir, addr)
	key := provision(t, cfg)
	acked := map[int64]string{}
	var mu sync.Mutex
	const rounds, clients, ackedBeforeKill = 3, 16, 150
	for round := 0; round < rounds; round++ {
		d := startDaemon(t, cfg, addr)
		var wg sync.WaitGroup
		stop := make(chan struct{})
		var once sync.Once
		for c := 0; c < clients; c++ {
			wg.Add(1)
			go func(c int) {
				defer wg.Done()
				client := &http.Client{Timeout: 10 * time.Second}
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					subject := fmt.Sprintf("round %d client %d ticket %d", round, c, i)
					id, err := createTicket(client, d.base, key, subject)
					if err != nil {
						continue // not acknowledged: it may or may not exist
					}
					mu.Lock()
					acked[id] = subject
					n := len(acked)
					mu.Unlock()
					if n >= (round+1)*ackedBeforeKill {
						once.Do(func() {
							d.cmd.Process.Signal(syscall.SIGKILL)
							close(stop)
						})
					}
				}
			}(c)
		}
		// Provisioning works while serve runs on the same database, under load.
		if code, out, errOut := runCLI(t, nil, "admin", "account", "put", "-config", cfg, "--id", fmt.Sprint(10+round), "--name", "Live"); code != 0 {
			t.Errorf("admin while serving: %d %s %s", code, out, errOut)
		}
		wg.Wait()
		d.cmd.Wait()
		if ws, ok := d.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: daemon ended by %v, not SIGKILL; log:\n%s", round, d.cmd.ProcessState, d.logs)
		}
	}
	d := startDaemon(t, cfg, addr)
	got := listAll(t, d.base, key)
	for id, subject := range acked {
		if got[id] != subject {
			t.Errorf("acknowledged ticket %d %q: after restart %q", id, subject, got[id])
		}
	}
	t.Logf("%d acknowledged tickets, %d present after %d kills", len(acked), len(got), rounds)
	// A clean stop on SIGTERM.
	d.cmd.Process.Signal(syscall.SIGTERM)
	if err := d.cmd.Wait(); err != nil {
		t.Errorf("SIGTERM: %v; log:\n%s", err, d.logs)
	}
	if !strings.Contains(d.logs.String(), "stopped cleanly") {
		t.Errorf("no clean stop in log:\n%s", d.logs)
	}
}

// TestServe_DefaultsOnFreshDirectory runs the daemon with no config file at all, as the
// README's first command does, in an empty working directory.
func TestServe_DefaultsOnFreshDirectory(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the daemon as a child process; run without -short")
	}
	dir := t.TempDir()
	addr := freeAddr(t)
	cmd := exec.Command(os.Args[0], "serve")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HELPDESKD_TEST_AS_MAIN=1", "HELPDESKD_SERVER_LISTEN="+addr)
	var logs logBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	eventually(t, daemonStart, func() error {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return fmt.Errorf("not ready: %v; log:\n%s", err, logs.String())
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("not ready: /readyz %d; log:\n%s", resp.StatusCode, logs.String())
		}
		return nil
	})
	if _, err := os.Stat(filepath.Join(dir, "data", "helpdeskd.db")); err != nil {
		t.Fatalf("default database not under ./data: %v", err)
	}
}
