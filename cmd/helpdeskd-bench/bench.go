package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/helpdeskd/helpdeskd/adapters/postgres/pgtest"
	"github.com/helpdeskd/helpdeskd/adapters/sqlite/sqlitetest"
)

// config is the command line.
type config struct {
	sizes         []int // desks to fill, in tickets; creates run on the largest
	clients       []int // concurrent clients of the create cells
	readClients   []int // concurrent clients of the list and detail cells
	floorRoutines []int // goroutines of the floor
	kinds         map[string]bool
	duration      time.Duration
	readDuration  time.Duration
	floorDuration time.Duration
	warmup        time.Duration
	fileBytes     int
	accounts      int
	properties    int
	dir           string
	json          bool
	cpuprofile    string
	// The email cells run when imap is set (or HELPDESKD_TEST_IMAP_ADDR is).
	imap         mailServer
	mails, pings int
	// The outbox cells (-kinds outbox) send to outbox.smtpAddr.
	outbox outboxSpec
	// driver is the store of the floor and the desks: sqlite, or postgres on the server of
	// dsn, with a pool of maxConns connections (0: the store's default).
	driver   string
	dsn      string
	maxConns int
	notes    []string // said in the report: cells dropped for the driver
}

// Defaults: the whole run takes about two and a half minutes on a 2-core machine, most of it
// filling the million-ticket desk (about 40 s) and the create cells.
func defaultConfig() config {
	return config{
		sizes:         []int{10_000, 100_000, 1_000_000},
		clients:       []int{1, 8, 32, 128},
		readClients:   []int{1, 32},
		floorRoutines: []int{1, 32},
		duration:      5 * time.Second,
		readDuration:  2 * time.Second,
		floorDuration: 5 * time.Second,
		warmup:        time.Second,
		fileBytes:     1 << 20,
		accounts:      1000,
		properties:    3,
		kinds:         map[string]bool{kindFloor: true, kindFloorFile: true, kindList: true, kindDetail: true, kindCreateJSON: true, kindCreateMultipart: true},
		outbox:        outboxSpec{backlog: 10_000, rate: 500, duration: time.Minute, connections: 4, workers: 4, tailWait: 2 * time.Minute},
	}
}

// quickConfig is -quick: tiny sizes and short cells, to prove the command runs.
func quickConfig(c config) config {
	c.sizes = []int{200, 1000}
	c.clients = []int{1, 4}
	c.readClients = []int{2}
	c.floorRoutines = []int{1, 4}
	c.duration, c.readDuration, c.floorDuration, c.warmup = 300*time.Millisecond, 200*time.Millisecond, 200*time.Millisecond, 50*time.Millisecond
	c.fileBytes = 64 << 10
	c.accounts = 10
	c.mails, c.pings = 20, 3
	c.outbox.backlog, c.outbox.rate, c.outbox.duration = 200, 50, time.Second
	return c
}

const usage = `Usage: helpdeskd-bench [flags]

Measures helpdeskd on this machine against a temporary database and a daemon it starts in
this process on 127.0.0.1, and prints a Markdown table (JSON with -json):
  - the floor: durable one-row INSERT transactions straight on SQLite with the daemon's
    pragmas, from 1 and from 32 goroutines; every API throughput is given as a ratio to the
    best of them (the multipart creates to the file floor: the same, each transaction
    after writing, fsyncing and renaming a -file-bytes file);
  - list page and ticket detail on desks of -sizes tickets;
  - ticket create over HTTP (JSON, and multipart with a -file-bytes file) on the largest desk,
    from each of -clients concurrent clients;
  - CPU seconds per 1,000 operations and the peak RSS of the daemon's process in each cell.
The HTTP clients run in a child process, so CPU and RSS are the daemon's own.
With -driver postgres and -dsn (or $HELPDESKD_BENCH_DSN) the floor and the desks are on that
Postgres server instead, in databases the bench creates and drops there: the floor is the same
one-row INSERT transaction through pgx, the daemon is wired on postgres.Open (no file floor,
multipart or outbox cells), and each row also gives the server's CPU per 1,000 operations.

Flags:
`

func parseFlags(args []string, stderr io.Writer) (config, error) {
	c := defaultConfig()
	fs := flag.NewFlagSet("helpdeskd-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	quick := fs.Bool("quick", false, "tiny sizes and short cells (seconds in all), to prove the command runs")
	sizes := intsFlag{&c.sizes}
	clients := intsFlag{&c.clients}
	readClients := intsFlag{&c.readClients}
	floor := intsFlag{&c.floorRoutines}
	fs.Var(sizes, "sizes", "desks to fill, in tickets, comma-separated; creates run on the largest")
	fs.Var(clients, "clients", "concurrent clients of the create cells")
	fs.Var(readClients, "read-clients", "concurrent clients of the list and detail cells")
	fs.Var(floor, "floor-goroutines", "goroutines of the floor cells")
	fs.Func("kinds", "cells to run, comma-separated, of: "+strings.Join(allKinds, ","), func(v string) error {
		c.kinds = map[string]bool{}
		for _, k := range strings.Split(v, ",") {
			if !slices.Contains(allKinds, k) {
				return fmt.Errorf("%q is none of %s", k, strings.Join(allKinds, ","))
			}
			c.kinds[k] = true
		}
		return nil
	})
	fs.DurationVar(&c.duration, "duration", c.duration, "measured time of each create cell")
	fs.DurationVar(&c.readDuration, "read-duration", c.readDuration, "measured time of each list or detail cell")
	fs.DurationVar(&c.floorDuration, "floor-duration", c.floorDuration, "measured time of each floor cell")
	fs.DurationVar(&c.warmup, "warmup", c.warmup, "unmeasured time before each HTTP cell")
	fs.IntVar(&c.fileBytes, "file-bytes", c.fileBytes, "size of the file of each multipart create")
	fs.IntVar(&c.accounts, "accounts", c.accounts, "accounts of each desk (at most one per ticket)")
	fs.StringVar(&c.dir, "dir", "", "where to make the temporary directory (default: the system's)")
	fs.BoolVar(&c.json, "json", false, "print JSON instead of Markdown")
	fs.StringVar(&c.imap.addr, "imap", os.Getenv("HELPDESKD_TEST_IMAP_ADDR"), "plain IMAP server `host:port` for the email cells (default $HELPDESKD_TEST_IMAP_ADDR; none: not measured)")
	fs.StringVar(&c.imap.user, "imap-user", "support", "IMAP user of the email cells")
	fs.StringVar(&c.imap.password, "imap-password", "support-pass", "IMAP password of the email cells")
	fs.IntVar(&c.mails, "mails", 500, "mails of the email ingest cell")
	fs.IntVar(&c.pings, "pings", 20, "single mails of the IDLE latency cell")
	fs.StringVar(&c.outbox.smtpAddr, "smtp", os.Getenv("HELPDESKD_TEST_SMTP_ADDR"), "plain SMTP server `host:port` on loopback for the outbox cells (default $HELPDESKD_TEST_SMTP_ADDR)")
	fs.StringVar(&c.outbox.domain, "smtp-domain", cmp.Or(os.Getenv("HELPDESKD_TEST_MAIL_DOMAIN"), "helpdesk.test"), "domain the SMTP server delivers locally: the outbox cells mail eve@ it")
	fs.StringVar(&c.outbox.discard, "smtp-discard-domain", os.Getenv("HELPDESKD_TEST_DISCARD_DOMAIN"), "domain the SMTP server queues and discards: the outbox cells run to eve@ it first (default $HELPDESKD_TEST_DISCARD_DOMAIN; none: only the delivered mail)")
	fs.IntVar(&c.outbox.backlog, "outbox-backlog", c.outbox.backlog, "email notifications of the outbox drain cell")
	fs.IntVar(&c.outbox.rate, "outbox-rate", c.outbox.rate, "creates per second of the steady outbox cell")
	fs.DurationVar(&c.outbox.duration, "outbox-duration", c.outbox.duration, "length of the steady outbox cell")
	fs.IntVar(&c.outbox.connections, "smtp-connections", c.outbox.connections, "SMTP connections of the outbox cells")
	fs.IntVar(&c.outbox.workers, "outbox-workers", c.outbox.workers, "email notifications in flight in the outbox cells")
	fs.StringVar(&c.cpuprofile, "cpuprofile", "", "write a CPU profile of the daemon's process during the create cells to `file`")
	fs.StringVar(&c.driver, "driver", driverSQLite, "store of the floor and the desks: sqlite, or postgres (on the server of -dsn)")
	fs.StringVar(&c.dsn, "dsn", os.Getenv(dsnEnv), "with -driver postgres: `DSN` of a server where the bench may create and drop databases (default $"+dsnEnv+")")
	fs.IntVar(&c.maxConns, "max-conns", 0, "with -driver postgres: the daemon's pool size (database.max_conns; 0: the store's default)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return c, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if *quick {
		q := quickConfig(c)
		// Flags given explicitly still win over -quick.
		fs.Visit(func(f *flag.Flag) { q.set(f.Name, c) })
		c = q
	}
	if len(c.sizes) == 0 || slices.Min(c.sizes) < 1 {
		return c, errors.New("-sizes: at least one desk of at least one ticket")
	}
	slices.Sort(c.sizes)
	switch c.driver {
	case driverSQLite:
	case driverPostgres:
		if c.dsn == "" {
			return c, errors.New("-driver postgres needs -dsn (or $" + dsnEnv + ")")
		}
		explicit := false
		fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "kinds" })
		for _, k := range pgUnsupported {
			if !c.kinds[k] {
				continue
			}
			if explicit {
				return c, fmt.Errorf("-kinds %s: not measured with -driver postgres", k)
			}
			delete(c.kinds, k)
		}
		if !explicit {
			c.notes = append(c.notes, "-driver postgres: the file floor, multipart creates and outbox cells are not measured (SQLite only).")
		}
	default:
		return c, fmt.Errorf("-driver %q: sqlite or postgres", c.driver)
	}
	return c, nil
}

// set copies flag name's value from explicit into c.
func (c *config) set(name string, explicit config) {
	switch name {
	case "sizes":
		c.sizes = explicit.sizes
	case "clients":
		c.clients = explicit.clients
	case "read-clients":
		c.readClients = explicit.readClients
	case "floor-goroutines":
		c.floorRoutines = explicit.floorRoutines
	case "duration":
		c.duration = explicit.duration
	case "read-duration":
		c.readDuration = explicit.readDuration
	case "floor-duration":
		c.floorDuration = explicit.floorDuration
	case "warmup":
		c.warmup = explicit.warmup
	case "file-bytes":
		c.fileBytes = explicit.fileBytes
	case "accounts":
		c.accounts = explicit.accounts
	case "imap-user":
		c.imap.user = explicit.imap.user
	case "imap-password":
		c.imap.password = explicit.imap.password
	case "mails":
		c.mails = explicit.mails
	case "pings":
		c.pings = explicit.pings
	case "kinds":
		c.kinds = explicit.kinds
	case "outbox-backlog":
		c.outbox.backlog = explicit.outbox.backlog
	case "outbox-rate":
		c.outbox.rate = explicit.outbox.rate
	case "outbox-duration":
		c.outbox.duration = explicit.outbox.duration
	}
}

// intsFlag is a comma-separated list of positive integers ("1,8,32", "10k", "1M").
type intsFlag struct{ p *[]int }

func (f intsFlag) String() string {
	if f.p == nil {
		return ""
	}
	s := make([]string, len(*f.p))
	for i, n := range *f.p {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

func (f intsFlag) Set(v string) error {
	var out []int
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		mul := 1
		switch {
		case strings.HasSuffix(s, "k"):
			s, mul = strings.TrimSuffix(s, "k"), 1_000
		case strings.HasSuffix(s, "M"):
			s, mul = strings.TrimSuffix(s, "M"), 1_000_000
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return fmt.Errorf("%q is not a positive integer", s)
		}
		out = append(out, n*mul)
	}
	*f.p = out
	return nil
}

// Run is the command: it returns the exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "helpdeskd-bench:", err)
		return 2
	}
	rep, err := bench(ctx, cfg, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "helpdeskd-bench:", err)
		return 1
	}
	if cfg.json {
		err = rep.writeJSON(stdout)
	} else {
		err = rep.writeMarkdown(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "helpdeskd-bench:", err)
		return 1
	}
	return 0
}

// bench runs every cell and returns the report.
func bench(ctx context.Context, cfg config, stderr io.Writer) (*report, error) {
	began := time.Now()
	tmp, err := os.MkdirTemp(cfg.dir, "helpdeskd-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	progress := func(format string, args ...any) {
		fmt.Fprintf(stderr, "%6.1fs  "+format+"\n", append([]any{time.Since(began).Seconds()}, args...)...)
	}
	rep := &report{When: began.UTC(), Machine: describeMachine(tmp), Mode: modeInProcess, LoadBefore: loadAverage(), Driver: cfg.driver}
	rep.Notes = append(rep.Notes, cfg.notes...)
	var pg *pgServer
	if cfg.driver == driverPostgres {
		if pg, err = openPGServer(ctx, cfg.dsn); err != nil {
			return nil, err
		}
		rep.Mode = modePostgres
		rep.Machine.Postgres = "PostgreSQL " + pg.version + " (" + pg.setting + ")"
	}
	peakReset := resetPeakRSS()
	if !peakReset {
		rep.Notes = append(rep.Notes, "Peak RSS could not be reset per cell (no /proc/self/clear_refs): each figure is the peak so far.")
	}
	// cell measures the CPU time and peak RSS of the process around fn.
	cell := func(fn func() (row, error)) (row, error) {
		resetPeakRSS()
		cpu0 := cpuTime()
		var srv0 time.Duration
		srvOK := false
		if pg != nil {
			srv0, srvOK = pg.cpu()
		}
		r, err := fn()
		cpu := cpuTime() - cpu0
		if srvOK && r.total > 0 {
			if srv1, ok := pg.cpu(); ok {
				r.ServerCPUPer1k = (srv1 - srv0).Seconds() * 1000 / float64(r.total)
			}
		}
		r.PeakRSSMiB = float64(peakRSS()) / (1 << 20)
		rep.PeakRSSMiB = max(rep.PeakRSSMiB, r.PeakRSSMiB)
		if r.total > 0 {
			r.CPUPer1k = cpu.Seconds() * 1000 / float64(r.total)
		}
		return r, err
	}

	// The floors first, each on its own file in the same directory (on Postgres, its own
	// table in a database of the floor's).
	var floorDSN string
	if pg != nil && cfg.kinds[kindFloor] {
		dsn, drop, err := pgtest.CreateDatabase(ctx, pg.admin, "helpdeskd_bench_floor")
		if err != nil {
			return nil, err
		}
		defer drop()
		floorDSN = dsn
	}
	for _, kind := range []string{kindFloor, kindFloorFile} {
		for _, g := range cfg.floorRoutines {
			if !cfg.kinds[kind] {
				break
			}
			fileBytes, what := 0, "floor: 1-row INSERT transaction straight on SQLite"
			if kind == kindFloorFile {
				fileBytes, what = cfg.fileBytes, fmt.Sprintf("file floor: %s file written, fsynced and renamed, then the same transaction", size(cfg.fileBytes))
			}
			progress("%s: from %d goroutine(s) for %s", kind, g, cfg.floorDuration)
			if pg != nil {
				what = "floor: 1-row INSERT transaction straight on Postgres"
			}
			r, err := cell(func() (row, error) {
				var f floorResult
				var err error
				if pg != nil {
					f, err = measurePGFloor(ctx, floorDSN, g, cfg.floorDuration)
				} else {
					f, err = measureFloor(ctx, filepath.Join(tmp, fmt.Sprintf("%s-%d", kind, g)), g, cfg.floorDuration, fileBytes)
				}
				return row{Kind: kind, What: what, Clients: g, Unit: "tx",
					Ops: f.Tx, PerSecond: float64(f.Tx) / f.Elapsed.Seconds(), P50Ms: ms(f.P50), P99Ms: ms(f.P99), total: f.Tx}, err
			})
			if err != nil {
				return nil, err
			}
			if kind == kindFloor {
				rep.Floor = max(rep.Floor, r.PerSecond)
			} else {
				rep.FileFloor = max(rep.FileFloor, r.PerSecond)
			}
			rep.Rows = append(rep.Rows, r)
		}
	}

	largest := cfg.sizes[len(cfg.sizes)-1]
	var reads, creates []row
	for _, size := range cfg.sizes {
		desk := sqlitetest.FillSpec{Accounts: min(cfg.accounts, size), Properties: cfg.properties, Tickets: size}
		dir := filepath.Join(tmp, fmt.Sprintf("desk-%d", size))
		progress("desk of %s tickets over %s accounts: filling", count(size), count(desk.Accounts))
		resetPeakRSS()
		var d *daemon
		if pg != nil {
			d, err = startPGDaemon(ctx, pg, cfg.maxConns, desk)
		} else {
			d, err = startDaemon(ctx, dir, desk)
		}
		if err != nil {
			return nil, err
		}
		rep.PeakRSSMiB = max(rep.PeakRSSMiB, float64(peakRSS())/(1<<20))
		spec := loadSpec{URL: d.url, Keys: d.keys, Accounts: desk.Accounts, Tickets: size, FileBytes: cfg.fileBytes, Warmup: cfg.warmup}
		for _, kind := range []string{kindList, kindDetail} {
			for _, c := range cfg.readClients {
				if !cfg.kinds[kind] {
					break
				}
				progress("%s, %s tickets, %d client(s)", kind, count(size), c)
				s := spec
				s.Kind, s.Clients, s.Duration = kind, c, cfg.readDuration
				r, err := cell(func() (row, error) { return loadRow(ctx, s, stderr) })
				if err != nil {
					d.stop()
					return nil, err
				}
				r.Desk = size
				reads = append(reads, r)
			}
		}
		if size == largest {
			if cfg.cpuprofile != "" {
				f, err := os.Create(cfg.cpuprofile)
				if err != nil {
					d.stop()
					return nil, err
				}
				if err := pprof.StartCPUProfile(f); err != nil {
					f.Close()
					d.stop()
					return nil, err
				}
				defer f.Close()
				defer pprof.StopCPUProfile()
			}
			for _, kind := range []string{kindCreateJSON, kindCreateMultipart} {
				for _, c := range cfg.clients {
					if !cfg.kinds[kind] {
						break
					}
					progress("%s, %d client(s), on %s tickets", kind, c, count(size))
					s := spec
					s.Kind, s.Clients, s.Duration = kind, c, cfg.duration
					var x0 xactStats
					if pg != nil {
						if x0, err = pg.stats(ctx, d); err != nil {
							d.stop()
							return nil, err
						}
					}
					r, err := cell(func() (row, error) { return loadRow(ctx, s, stderr) })
					if err != nil {
						d.stop()
						return nil, err
					}
					if pg != nil && r.total > 0 {
						x1, err := pg.stats(ctx, d)
						if err != nil {
							d.stop()
							return nil, err
						}
						r.CommitsPerOp = float64(x1.commits-x0.commits) / float64(r.total)
						r.RollbacksPerOp = float64(x1.rollbacks-x0.rollbacks) / float64(r.total)
						rep.Notes = append(rep.Notes, fmt.Sprintf("%s, %d clients: %d commits and %d rollbacks in the desk's database "+
							"(pg_stat_database), %.2f and %.2f per ticket (warm-up included; a read ends in a rollback, a lost "+
							"serialization conflict in one more).", r.What, c, x1.commits-x0.commits, x1.rollbacks-x0.rollbacks,
							r.CommitsPerOp, r.RollbacksPerOp))
					}
					r.Desk = size
					creates = append(creates, r)
				}
			}
			if cfg.cpuprofile != "" {
				pprof.StopCPUProfile()
			}
		}
		if err := d.stop(); err != nil {
			return nil, fmt.Errorf("stop daemon: %w", err)
		}
		os.RemoveAll(dir)
	}
	rep.Rows = append(rep.Rows, creates...)
	rep.Rows = append(rep.Rows, reads...)
	if cfg.kinds[kindOutbox] {
		// -cpuprofile covers the create cells when they run, else the outbox cells.
		if cfg.cpuprofile != "" && !cfg.kinds[kindCreateJSON] && !cfg.kinds[kindCreateMultipart] {
			stop, err := startProfile(cfg.cpuprofile)
			if err != nil {
				return nil, err
			}
			defer stop()
		}
		rows, err := outboxRows(ctx, cfg.outbox, tmp, cell, progress)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			if r.Note != "" {
				rep.Notes = append(rep.Notes, r.What+": "+r.Note+".")
			}
		}
		rep.Rows = append(rep.Rows, rows...)
	}
	if cfg.imap.addr == "" {
		rep.Rows = append(rep.Rows, row{Kind: "email", What: "email ingest from IMAP (messages/s, delivery → ticket with IDLE)",
			Note: "not configured (-imap)"})
	} else {
		if pg != nil {
			rep.Notes = append(rep.Notes, "The email cells run on SQLite whatever -driver says.")
		}
		emails, err := emailRows(ctx, cfg.imap, tmp, cfg.mails, cfg.pings, progress)
		if err != nil {
			return nil, fmt.Errorf("email cells: %w", err)
		}
		rep.Rows = append(rep.Rows, emails...)
	}
	for i := range rep.Rows {
		r := &rep.Rows[i]
		floor := rep.Floor
		if r.Kind == kindCreateMultipart || r.Kind == kindFloorFile {
			floor = rep.FileFloor
		}
		if floor > 0 && r.PerSecond > 0 {
			r.VsFloor = r.PerSecond / floor
		}
		if r.Errors > 0 {
			rep.Notes = append(rep.Notes, fmt.Sprintf("%s (%d clients): %d failed requests, first: %s", r.What, r.Clients, r.Errors, r.firstError))
		}
	}
	rep.Wall = time.Since(began).Round(time.Second)
	rep.LoadAfter = loadAverage()
	progress("done")
	return rep, nil
}

// loadRow runs one cell of HTTP load and turns it into a row.
func loadRow(ctx context.Context, s loadSpec, stderr io.Writer) (row, error) {
	res, err := runLoad(ctx, s, stderr)
	if err != nil {
		return row{}, err
	}
	r := row{Kind: s.Kind, Clients: s.Clients, Ops: res.Requests, P50Ms: ms(res.P50), P99Ms: ms(res.P99),
		Errors: res.Errors, firstError: res.FirstError, total: res.Total}
	if res.Elapsed > 0 {
		r.PerSecond = float64(res.Requests) / res.Elapsed.Seconds()
	}
	switch s.Kind {
	case kindCreateJSON:
		r.What, r.Unit = "POST /api/Ticket, JSON", "tickets"
	case kindCreateMultipart:
		r.What, r.Unit = fmt.Sprintf("POST /api/Ticket, multipart with a %s file", size(s.FileBytes)), "tickets"
	case kindList:
		r.What, r.Unit = fmt.Sprintf("GET /api/Ticket, first page of %d", listPageSize), "pages"
	case kindDetail:
		r.What, r.Unit = "GET /api/Ticket/{id}, one ticket", "tickets"
	}
	return r, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
