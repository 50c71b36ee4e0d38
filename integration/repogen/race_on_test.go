//go:build race

package repogen

// raceEnabled lets the scale test shrink under the race detector, which
// slows the signing loop tenfold without finding more at 300,000 targets.
const raceEnabled = true
