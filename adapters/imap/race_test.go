//go:build race

package imap_test

// raceEnabled: the race detector multiplies memory, so memory bounds are only logged.
const raceEnabled = true
