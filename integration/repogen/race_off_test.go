//go:build !race

package repogen

const raceEnabled = false
