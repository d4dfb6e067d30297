package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// loadEnv carries a loadSpec (JSON) to the child process that plays the HTTP clients.
const loadEnv = "HELPDESKD_BENCH_LOAD"

// The kinds of cell: the floor, and the kinds of request an HTTP cell sends.
const (
	kindFloor           = "floor"
	kindFloorFile       = "floor-file"
	kindCreateJSON      = "create-json"
	kindCreateMultipart = "create-multipart"
	kindList            = "list"
	kindDetail          = "detail"
	// kindOutbox is the outbox to SMTP (outbox.go): run only when asked for, it takes a
	// minute or more.
	kindOutbox = "outbox"
)

var allKinds = []string{kindFloor, kindFloorFile, kindList, kindDetail, kindCreateJSON, kindCreateMultipart, kindOutbox}

// listPageSize is the page the list cells ask for, the panel's page.
const listPageSize = 20

// loadSpec is one cell of load: Clients clients sending Kind requests for Duration, after a
// Warmup whose requests are made but not counted.
type loadSpec struct {
	URL      string        `json:"url"`
	Kind     string        `json:"kind"`
	Clients  int           `json:"clients"`
	Duration time.Duration `json:"duration"`
	Warmup   time.Duration `json:"warmup"`
	// Keys[i] is the API key of account i+1's customer.
	Keys []string `json:"keys"`
	// Accounts and Tickets describe the desk (sqlitetest.Fill's layout: ticket t belongs to
	// account t mod Accounts + 1).
	Accounts  int `json:"accounts"`
	Tickets   int `json:"tickets"`
	FileBytes int `json:"fileBytes"`
}

// loadResult is what a cell measured.
type loadResult struct {
	Requests   int           `json:"requests"` // counted: answered as expected after the warm-up
	Total      int           `json:"total"`    // every request answered as expected, warm-up included
	Errors     int           `json:"errors"`
	FirstError string        `json:"firstError,omitempty"`
	Elapsed    time.Duration `json:"elapsed"` // of the counted part
	P50        time.Duration `json:"p50"`
	P99        time.Duration `json:"p99"`
}

// runLoad runs spec in a child process (this binary) and returns its result.
func runLoad(ctx context.Context, spec loadSpec, stderr io.Writer) (loadResult, error) {
	exe, err := os.Executable()
	if err != nil {
		return loadResult{}, fmt.Errorf("find own executable for the clients: %w", err)
	}
	b, err := json.Marshal(spec)
	if err != nil {
		return loadResult{}, err
	}
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), loadEnv+"="+string(b))
	cmd.Stderr = stderr
	out, err := cmd.Output()
	if err != nil {
		return loadResult{}, fmt.Errorf("clients (%s, %d): %w", spec.Kind, spec.Clients, err)
	}
	var res loadResult
	if err := json.Unmarshal(out, &res); err != nil {
		return loadResult{}, fmt.Errorf("clients' result: %w", err)
	}
	// The clients share the machine's cores with the daemon: what they burn is CPU the
	// daemon did not get, so it is shown beside the daemon's own.
	if st := cmd.ProcessState; st != nil && res.Total > 0 {
		cpu := st.UserTime() + st.SystemTime()
		fmt.Fprintf(stderr, "         clients' own CPU: %.3f ms per request (%d requests, warm-up included)\n",
			float64(cpu.Microseconds())/1000/float64(res.Total), res.Total)
	}
	return res, nil
}

// loadMain is the child process: it decodes the spec, runs the clients and prints the result.
func loadMain(spec string, stdout, stderr io.Writer) int {
	var s loadSpec
	if err := json.Unmarshal([]byte(spec), &s); err != nil {
		fmt.Fprintln(stderr, "helpdeskd-bench clients:", err)
		return 2
	}
	res, err := generate(context.Background(), s)
	if err != nil {
		fmt.Fprintln(stderr, "helpdeskd-bench clients:", err)
		return 1
	}
	if err := json.NewEncoder(stdout).Encode(res); err != nil {
		fmt.Fprintln(stderr, "helpdeskd-bench clients:", err)
		return 1
	}
	return 0
}

// generate runs s.Clients clients until s.Warmup+s.Duration has passed.
func generate(ctx context.Context, s loadSpec) (loadResult, error) {
	if s.Clients < 1 || len(s.Keys) == 0 || s.Accounts < 1 {
		return loadResult{}, fmt.Errorf("bad load spec: %d clients, %d keys, %d accounts", s.Clients, len(s.Keys), s.Accounts)
	}
	client := &http.Client{Transport: &http.Transport{
		MaxIdleConns: s.Clients, MaxIdleConnsPerHost: s.Clients, MaxConnsPerHost: s.Clients,
		DisableCompression: true,
	}}
	defer client.CloseIdleConnections()
	start := time.Now()
	counted := start.Add(s.Warmup)
	end := counted.Add(s.Duration)
	var (
		mu       sync.Mutex
		lat      []time.Duration
		total    int
		errs     int
		firstErr string
		seq      atomic.Int64
		wg       sync.WaitGroup
	)
	for c := range s.Clients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(c), uint64(start.UnixNano())))
			mk := newRequester(s, rng, &seq)
			var mine []time.Duration
			myTotal, myErrs := 0, 0
			var myFirst string
			for {
				t0 := time.Now()
				// Every client counts at least one request, however slow the machine.
				if (t0.After(end) && (len(mine) > 0 || myErrs > 0)) || ctx.Err() != nil {
					break
				}
				err := mk.do(ctx, client)
				d := time.Since(t0)
				if err != nil {
					myErrs++
					if myFirst == "" {
						myFirst = err.Error()
					}
					continue
				}
				myTotal++
				if !t0.Before(counted) || t0.After(end) {
					mine = append(mine, d)
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			total += myTotal
			errs += myErrs
			if firstErr == "" {
				firstErr = myFirst
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(counted)
	slices.Sort(lat)
	return loadResult{
		Requests: len(lat), Total: total, Errors: errs, FirstError: firstErr, Elapsed: elapsed,
		P50: percentile(lat, 0.50), P99: percentile(lat, 0.99),
	}, nil
}

// percentile is the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// requester makes one client's requests; a create-multipart client owns its body and makes
// every file in it unique, so the content-addressed store really writes each one.
type requester struct {
	s      loadSpec
	rng    *rand.Rand
	seq    *atomic.Int64
	body   []byte
	fileAt int    // offset of the file's bytes in body
	ctype  string // of body
}

const createJSON = `{"subject":"Site is slow","description":"Since this morning every page takes seconds to load.","topic":5}`

func newRequester(s loadSpec, rng *rand.Rand, seq *atomic.Int64) *requester {
	r := &requester{s: s, rng: rng, seq: seq}
	if s.Kind == kindCreateMultipart {
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		w.WriteField("subject", "Slow site")
		w.WriteField("description", "See the attached trace.")
		w.WriteField("topic", "5")
		fw, _ := w.CreateFormFile("file", "trace.bin")
		r.fileAt = buf.Len() // the part's header is written: its bytes start here
		file := make([]byte, s.FileBytes)
		for i := range file {
			file[i] = byte(rng.Uint32())
		}
		fw.Write(file)
		w.Close()
		r.body = buf.Bytes()
		r.ctype = w.FormDataContentType()
	}
	return r
}

// account picks an account that has a key, and its key.
func (r *requester) account() (int, string) {
	a := r.rng.IntN(len(r.s.Keys)) + 1
	return a, r.s.Keys[a-1]
}

func (r *requester) do(ctx context.Context, client *http.Client) error {
	a, key := r.account()
	var (
		method = http.MethodGet
		path   string
		body   io.Reader
		ctype  string
		want   = http.StatusOK
	)
	switch r.s.Kind {
	case kindCreateJSON:
		method, want = http.MethodPost, http.StatusCreated
		path = fmt.Sprintf("/api/Ticket?accountId=%d", a)
		body, ctype = strings.NewReader(createJSON), "application/json"
	case kindCreateMultipart:
		method, want = http.MethodPost, http.StatusCreated
		path = fmt.Sprintf("/api/Ticket?accountId=%d", a)
		if r.s.FileBytes >= 16 {
			binary.LittleEndian.PutUint64(r.body[r.fileAt:], uint64(os.Getpid()))
			binary.LittleEndian.PutUint64(r.body[r.fileAt+8:], uint64(r.seq.Add(1)))
		}
		body, ctype = bytes.NewReader(r.body), r.ctype
	case kindList:
		path = fmt.Sprintf("/api/Ticket?accountId=%d&pageSize=%d", a, listPageSize)
	case kindDetail:
		path = fmt.Sprintf("/api/Ticket/%d?accountId=%d", r.ticketOf(a), a)
	default:
		return fmt.Errorf("unknown kind %q", r.s.Kind)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.s.URL+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("X-API-Key", key)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: status %d", method, path, resp.StatusCode)
	}
	return err
}

// ticketOf picks one of account a's filled tickets: the IDs t = k·Accounts + a-1 in
// [1, Tickets] (the desk has at least one ticket per account).
func (r *requester) ticketOf(a int) int {
	lo, hi := 0, (r.s.Tickets-(a-1))/r.s.Accounts
	if a == 1 {
		lo = 1 // t = 0 is no ticket
	}
	k := lo
	if hi > lo {
		k += r.rng.IntN(hi - lo + 1)
	}
	return k*r.s.Accounts + a - 1
}
