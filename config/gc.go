package config

import "runtime/debug"

// GCPercent is the Go collector's target (GOGC) the daemon runs with when GOGC is not set in
// its environment; a GOGC that is set wins. The daemon's live Go heap is about 1 MB (SQLite
// keeps its pages outside it), so Go's default of 100 collects every time 4 MB more is
// allocated: some 40 times a second under 6,000 creates a second, about a tenth of the CPU
// (docs/benchmarks.md). At 400 it collects every 16 MB, for some 12 MB more RSS.
const GCPercent = 400

// TuneGC sets the collector's target to GCPercent unless lookupEnv finds GOGC. It reports
// whether it did.
func TuneGC(lookupEnv func(string) (string, bool)) bool {
	if _, set := lookupEnv("GOGC"); set {
		return false
	}
	debug.SetGCPercent(GCPercent)
	return true
}
