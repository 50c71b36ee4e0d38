package main

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// parseSize reads a size such as "500MB", "10GiB", "1.5 GB" or "0" (no
// limit; so is ""). Units are decimal (kB, MB, GB, TB) or binary (KiB, MiB,
// GiB, TiB), case-insensitive; a bare number is bytes. Written by hand:
// this is the whole parser, and the libraries that have one differ in
// whether "MB" means 10^6 or 2^20; here it is always 10^6, as pip and the
// SI say.
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := s, ""
	if i >= 0 {
		num, unit = s[:i], strings.ToLower(strings.TrimSpace(s[i:]))
	}
	mult, ok := sizeUnits[unit]
	if !ok {
		return 0, errors.New("unknown unit " + strconv.Quote(s[len(num):]) + " (want B, kB, MB, GB, TB, KiB, MiB, GiB or TiB)")
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || num == "" || strings.HasPrefix(num, ".") {
		return 0, errors.New("not a size")
	}
	n := v * float64(mult)
	if n >= math.MaxInt64 {
		return 0, errors.New("too large")
	}
	return int64(n), nil
}

var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9, "t": 1e12, "tb": 1e12,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
}
