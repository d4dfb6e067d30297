//go:build !race

package storecopy_test

// raceDetector says the tests run under the race detector, which slows a copy of 100,000
// tickets tenfold.
const raceDetector = false
