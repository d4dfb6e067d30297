package config

import (
	"runtime/debug"
	"testing"
)

func TestTuneGC(t *testing.T) {
	was := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(was) })

	if !TuneGC(func(string) (string, bool) { return "", false }) {
		t.Fatal("TuneGC did nothing without GOGC")
	}
	if got := debug.SetGCPercent(100); got != GCPercent {
		t.Errorf("GC percent %d without GOGC, want %d", got, GCPercent)
	}

	set := func(name string) (string, bool) { return "50", name == "GOGC" }
	if TuneGC(set) {
		t.Error("TuneGC changed the target although GOGC is set")
	}
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GC percent %d with GOGC set, want it left at 100", got)
	}
}
