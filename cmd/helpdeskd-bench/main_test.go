package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestMain lets the test binary play the HTTP clients: the command starts its own
// executable with HELPDESKD_BENCH_LOAD set, which under go test is this binary.
func TestMain(m *testing.M) {
	if spec := os.Getenv(loadEnv); spec != "" {
		os.Exit(loadMain(spec, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func runBench(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Run(context.Background(), append(args, "-dir", t.TempDir()), &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestRun_QuickMeasuresEveryCell runs the whole command in -quick mode and checks that every
// cell measured something without a failed request. It asserts no timing.
func TestRun_QuickMeasuresEveryCell(t *testing.T) {
	// The mail stack's user eve is this test's alone: other packages' tests, running at the
	// same time, empty the mailboxes of the users they use.
	code, out, errOut := runBench(t, "-quick", "-json", "-imap-user", "eve", "-imap-password", "eve-pass")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	var rep report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("JSON: %v\n%s", err, out)
	}
	if rep.Floor <= 0 || rep.FileFloor <= 0 {
		t.Errorf("floor %v tx/s, file floor %v tx/s", rep.Floor, rep.FileFloor)
	}
	seen := map[string]int{}
	for _, r := range rep.Rows {
		seen[r.Kind]++
		if r.Kind == "email" {
			configured := os.Getenv("HELPDESKD_TEST_IMAP_ADDR") != ""
			if !configured && !strings.HasPrefix(r.Note, "not configured") || configured && r.PerSecond <= 0 && r.P50Ms <= 0 {
				t.Errorf("email row (IMAP configured: %v): %+v", configured, r)
			}
			continue
		}
		if r.Ops == 0 || r.PerSecond <= 0 || r.Errors != 0 || r.VsFloor <= 0 || r.PeakRSSMiB <= 0 {
			t.Errorf("row measured nothing or failed: %+v", r)
		}
	}
	// -quick: the floors from 1 and 4 goroutines, creates from 1 and 4 clients on the larger
	// of two desks, lists and details from 2 clients on each desk.
	want := map[string]int{kindFloor: 2, kindFloorFile: 2, kindCreateJSON: 2, kindCreateMultipart: 2, kindList: 2, kindDetail: 2, "email": 1}
	if os.Getenv("HELPDESKD_TEST_IMAP_ADDR") != "" {
		want["email"] = 2 // ingest, and IDLE latency
	}
	for k, n := range want {
		if seen[k] != n {
			t.Errorf("%d %s rows, want %d", seen[k], k, n)
		}
	}
}

func TestRun_MarkdownTable(t *testing.T) {
	code, out, errOut := runBench(t, "-quick", "-kinds", "floor,create-json", "-clients", "2", "-sizes", "50", "-imap", "")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	for _, want := range []string{"| what | desk | clients | throughput |", "| floor: 1-row INSERT", "| POST /api/Ticket, JSON | 50 | 2 |", "not configured"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
}

func TestRun_BadFlagsAreUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"-sizes", "ten"}, {"-kinds", "everything"}, {"extra"}} {
		if code, _, errOut := runBench(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", args, code, errOut)
		}
	}
}

// TestRun_QuickOutbox runs the outbox cells with tiny sizes: against the in-process SMTP
// sink always, and against the mail stack's Postfix when it runs, with the mail it discards
// and with the mail it delivers. It asserts no timing.
func TestRun_QuickOutbox(t *testing.T) {
	code, out, errOut := runBench(t, "-quick", "-json", "-kinds", "outbox", "-sizes", "10", "-imap", "")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	var rep report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("JSON: %v\n%s", err, out)
	}
	want := 3 // the server alone, the drain, the steady creates
	if os.Getenv("HELPDESKD_TEST_SMTP_ADDR") != "" {
		want += 3 // to Postfix, delivered into Dovecot
		if os.Getenv("HELPDESKD_TEST_DISCARD_DOMAIN") != "" {
			want += 3 // to Postfix, discarded
		}
	}
	n := 0
	for _, r := range rep.Rows {
		if r.Kind != kindOutbox {
			continue
		}
		n++
		if r.Ops == 0 || r.PerSecond <= 0 || r.Errors != 0 {
			t.Errorf("outbox row measured nothing or failed: %+v", r)
		}
	}
	if n != want {
		t.Errorf("%d outbox rows, want %d", n, want)
	}
}

// TestRun_QuickPostgres runs the floor and the HTTP cells with -driver postgres on the server
// of HELPDESKD_TEST_POSTGRES, with tiny sizes; it skips without one. It asserts no timing.
func TestRun_QuickPostgres(t *testing.T) {
	dsn := os.Getenv("HELPDESKD_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("no Postgres server (HELPDESKD_TEST_POSTGRES is not set)")
	}
	code, out, errOut := runBench(t, "-quick", "-json", "-driver", "postgres", "-dsn", dsn, "-sizes", "30,300",
		"-clients", "1,3", "-imap", "")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	var rep report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("JSON: %v\n%s", err, out)
	}
	if rep.Driver != "postgres" || rep.Floor <= 0 || rep.FileFloor != 0 || !strings.Contains(rep.Machine.Postgres, "PostgreSQL") {
		t.Errorf("driver %q, floor %v tx/s, file floor %v, server %q", rep.Driver, rep.Floor, rep.FileFloor, rep.Machine.Postgres)
	}
	seen := map[string]int{}
	for _, r := range rep.Rows {
		seen[r.Kind]++
		if r.Kind == "email" {
			continue
		}
		if r.Ops == 0 || r.PerSecond <= 0 || r.Errors != 0 || r.VsFloor <= 0 {
			t.Errorf("row measured nothing or failed: %+v", r)
		}
		if r.Kind == kindCreateJSON && r.CommitsPerOp < 1 {
			t.Errorf("create row counted %v commits per ticket, want at least 1: %+v", r.CommitsPerOp, r)
		}
	}
	want := map[string]int{kindFloor: 2, kindCreateJSON: 2, kindList: 2, kindDetail: 2, "email": 1}
	for k, n := range want {
		if seen[k] != n {
			t.Errorf("%d %s rows, want %d", seen[k], k, n)
		}
	}
	// The bench drops every database it made.
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var left int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_database WHERE datname LIKE 't_helpdeskd_bench_%'`).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d bench databases left on the server", left)
	}
}

func TestRun_PostgresFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-driver", "mysql"},
		{"-driver", "postgres", "-dsn", ""},
		{"-driver", "postgres", "-dsn", "postgres://x@/y", "-kinds", "create-multipart"},
	} {
		if code, _, errOut := runBench(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", args, code, errOut)
		}
	}
}
