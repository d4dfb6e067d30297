package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// modeInProcess says how the daemon was run, in the report.
const modeInProcess = "in this process (sqlite.Open → core.NewService → httpapi.New on 127.0.0.1, " +
	"the defaults of `helpdeskd serve`: synchronous=FULL, email and Telegram off); HTTP clients in a child process"

// row is one line of the table.
type row struct {
	Kind      string  `json:"kind"` // floor, create-json, create-multipart, list, detail, email
	What      string  `json:"what"`
	Desk      int     `json:"deskTickets,omitempty"` // tickets in the desk before the cell
	Clients   int     `json:"clients,omitempty"`     // concurrent clients (goroutines for the floor)
	Ops       int     `json:"ops"`                   // operations counted
	Unit      string  `json:"unit,omitempty"`
	PerSecond float64 `json:"perSecond"`
	P50Ms     float64 `json:"p50Ms"`
	P99Ms     float64 `json:"p99Ms"`
	// VsFloor is PerSecond divided by the floor's best transaction rate.
	VsFloor float64 `json:"vsFloor"`
	// CPUPer1k is the daemon process's CPU seconds (user + system) per 1,000 operations.
	CPUPer1k float64 `json:"cpuSecondsPer1k"`
	// ServerCPUPer1k is the Postgres server's CPU seconds per 1,000 operations (-driver
	// postgres, a server on this machine whose data directory the bench can read).
	ServerCPUPer1k float64 `json:"serverCpuSecondsPer1k,omitempty"`
	// CommitsPerOp and RollbacksPerOp are the desk database's transactions per operation
	// (-driver postgres, create cells).
	CommitsPerOp   float64 `json:"commitsPerOp,omitempty"`
	RollbacksPerOp float64 `json:"rollbacksPerOp,omitempty"`
	PeakRSSMiB     float64 `json:"peakRssMiB"`
	Errors         int     `json:"errors,omitempty"`
	Note           string  `json:"note,omitempty"`

	firstError string
	total      int // operations done in the cell, warm-up included (the CPU's denominator)
}

// report is the whole run.
type report struct {
	When    time.Time `json:"when"`
	Machine machine   `json:"machine"`
	Mode    string    `json:"mode"`
	Driver  string    `json:"driver"` // sqlite or postgres: the floor's and the desks' store
	// Floor is the best transaction rate of the floor rows, the denominator of VsFloor;
	// FileFloor is the file floor's, the denominator for multipart creates.
	FileFloor  float64 `json:"fileFloorTxPerSecond"`
	Floor      float64 `json:"floorTxPerSecond"`
	PeakRSSMiB float64 `json:"peakRssMiB"` // of the whole run, filling included
	// LoadBefore and LoadAfter are the 1-minute load averages at the start and the end: other
	// work on the machine shows in every figure.
	LoadBefore string        `json:"loadBefore,omitempty"`
	LoadAfter  string        `json:"loadAfter,omitempty"`
	Rows       []row         `json:"rows"`
	Notes      []string      `json:"notes,omitempty"`
	Wall       time.Duration `json:"wallNanoseconds"`
}

func (r *report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func (r *report) writeMarkdown(w io.Writer) error {
	var b strings.Builder
	m := r.Machine
	fmt.Fprintf(&b, "helpdeskd-bench, %s, in %s.\n\n", r.When.Format("2006-01-02 15:04 MST"), r.Wall)
	fmt.Fprintf(&b, "- Machine: %d × %s, %s RAM, %s", m.CPUs, m.CPU, m.MemoryGB, m.Kernel)
	if m.Disk != "" {
		fmt.Fprintf(&b, ", disk %s", m.Disk)
	}
	fmt.Fprintf(&b, "; %s, %s", m.Go, m.SQLite)
	if m.Postgres != "" {
		fmt.Fprintf(&b, ", %s", m.Postgres)
	}
	b.WriteString(".")
	if r.LoadBefore != "" {
		fmt.Fprintf(&b, " Load average %s at the start, %s at the end.", r.LoadBefore, r.LoadAfter)
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "- Daemon: %s; CPU and peak RSS are the daemon process's.\n", r.Mode)
	pg := r.Driver == driverPostgres
	if pg {
		fmt.Fprintf(&b, "- Floor: **%s tx/s**, the best floor row: one durable `INSERT` per transaction (BEGIN, INSERT, COMMIT "+
			"at the server's default isolation and synchronous_commit) straight on the same Postgres server through pgx, each "+
			"goroutine on a connection of its own. × floor = throughput ÷ that", num(r.Floor))
	} else {
		fmt.Fprintf(&b, "- Floor: **%s tx/s**, the best floor row: one durable `INSERT` per transaction straight on SQLite "+
			"with the daemon's pragmas (WAL, synchronous=FULL, busy_timeout, _txlock=immediate). × floor = throughput ÷ that", num(r.Floor))
	}
	if r.FileFloor > 0 {
		fmt.Fprintf(&b, "; for multipart creates ÷ the file floor, **%s tx/s** (each transaction after writing, fsyncing and "+
			"renaming a file of the same size, as the daemon stores an attachment)", num(r.FileFloor))
	}
	b.WriteString(".\n\n")
	// On Postgres one more column: the server's CPU, a process of its own.
	extra, extraSep, extraDash := "", "", ""
	if pg {
		extra, extraSep, extraDash = " server CPU s / 1k |", " --: |", " — |"
	}
	b.WriteString("| what | desk | clients | throughput | p50 | p99 | × floor | CPU s / 1k | peak RSS |" + extra + "\n")
	b.WriteString("| --- | --: | --: | --: | --: | --: | --: | --: | --: |" + extraSep + "\n")
	for _, x := range r.Rows {
		if x.Note != "" && x.Ops == 0 {
			fmt.Fprintf(&b, "| %s | — | — | %s | — | — | — | — | — |%s\n", x.What, x.Note, extraDash)
			continue
		}
		if x.Kind == "email" {
			dash := func(v float64, f func(float64) string) string {
				if v == 0 {
					return "—"
				}
				return f(v)
			}
			fmt.Fprintf(&b, "| %s | — | — | %s | %s | %s | — | — | — |"+extraDash+"\n", x.What,
				dash(x.PerSecond, func(v float64) string { return num(v) + " " + x.Unit + "/s" }),
				dash(x.P50Ms, func(v float64) string { return dec(v) + " ms" }),
				dash(x.P99Ms, func(v float64) string { return dec(v) + " ms" }))
			continue
		}
		desk := "—"
		if x.Desk > 0 {
			desk = count(x.Desk)
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %s %s/s | %s ms | %s ms | %s | %s | %s MiB |",
			x.What, desk, x.Clients, num(x.PerSecond), x.Unit, dec(x.P50Ms), dec(x.P99Ms),
			strconv.FormatFloat(x.VsFloor, 'f', 2, 64), strconv.FormatFloat(x.CPUPer1k, 'f', 2, 64), num(x.PeakRSSMiB))
		if pg {
			if x.ServerCPUPer1k > 0 {
				fmt.Fprintf(&b, " %s |", strconv.FormatFloat(x.ServerCPUPer1k, 'f', 2, 64))
			} else {
				b.WriteString(" — |")
			}
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "\nPeak RSS of the whole run, filling included: %s MiB.\n", num(r.PeakRSSMiB))
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "\n- %s", n)
	}
	if len(r.Notes) > 0 {
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// num formats a figure rounded to a whole number with thousands separators.
func num(f float64) string { return count(int(f + 0.5)) }

// count formats n with thousands separators.
func count(n int) string {
	s := strconv.Itoa(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// dec formats milliseconds with two significant decimals below 10 and one above.
func dec(f float64) string {
	if f >= 100 {
		return strconv.FormatFloat(f, 'f', 0, 64)
	}
	if f >= 10 {
		return strconv.FormatFloat(f, 'f', 1, 64)
	}
	return strconv.FormatFloat(f, 'f', 2, 64)
}

// size formats a byte count as the README does: 1 MB, 64 KB.
func size(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.Itoa(n>>20) + " MB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.Itoa(n>>10) + " KB"
	}
	return strconv.Itoa(n) + " B"
}
