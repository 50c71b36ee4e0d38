package packaging

import (
	"fmt"
	"strconv"
	"strings"
)

// CompatibleTags returns the wheel tags an interpreter accepts, best
// first, in the order pip (packaging.tags) produces them for
// `pip install --python-version X --implementation I --platform P...`:
//
// For CPython (impl "cp"), with pyVersion 3.11:
//
//	cp311-cp311-<each platform>
//	cp311-abi3-<each platform>
//	cp311-none-<each platform>
//	cp310-abi3-<each platform> … cp32-abi3-<each platform>
//	py311-none-<each platform>, py3-none-<…>, py310-none-<…> … py30-none-<…>
//	cp311-none-any
//	py311-none-any, py3-none-any, py310-none-any … py30-none-any
//
// Before 3.8 the CPython ABI is "cp37m" (pymalloc), as on every stock
// build. Other implementations ("pp", …) get <impl><ver>-none-<platform>
// followed by the same generic tags. platforms is ordered best first,
// e.g. ManylinuxPlatforms("x86_64", 2, 17); it must not be empty (the
// "any" platform is added by the generic tags). pyVersion may be "3.11" or
// "3.11.4"; only major and minor count.
func CompatibleTags(pyVersion string, platforms []string, impl string) ([]Tag, error) {
	major, minor, err := parsePyVersion(pyVersion)
	if err != nil {
		return nil, err
	}
	if len(platforms) == 0 {
		return nil, fmt.Errorf("compatible tags: no platforms given")
	}
	for _, p := range platforms {
		if !isTagText(p) {
			return nil, fmt.Errorf("compatible tags: invalid platform tag %q", p)
		}
	}
	if impl == "" || !isTagText(impl) {
		return nil, fmt.Errorf("compatible tags: invalid implementation %q", impl)
	}
	impl = strings.ToLower(impl)
	nodot := func(maj, min int) string { return strconv.Itoa(maj) + strconv.Itoa(min) }
	interp := impl + nodot(major, minor)

	var tags []Tag
	add := func(py, abi string, plats ...string) {
		for _, p := range plats {
			tags = append(tags, Tag{py, abi, p})
		}
	}
	if impl == "cp" {
		abi := interp
		if major == 3 && minor < 8 {
			abi += "m"
		}
		add(interp, abi, platforms...)
		abi3 := major == 3 && minor >= 2 || major > 3
		if abi3 {
			add(interp, "abi3", platforms...)
		}
		add(interp, "none", platforms...)
		if abi3 {
			for m := minor - 1; m > 1; m-- {
				add(impl+nodot(major, m), "abi3", platforms...)
			}
		}
	} else {
		add(interp, "none", platforms...)
	}
	// The generic tags, as packaging.tags.compatible_tags.
	pyRange := []string{"py" + nodot(major, minor), "py" + strconv.Itoa(major)}
	for m := minor - 1; m >= 0; m-- {
		pyRange = append(pyRange, "py"+nodot(major, m))
	}
	for _, py := range pyRange {
		add(py, "none", platforms...)
	}
	add(interp, "none", "any")
	for _, py := range pyRange {
		add(py, "none", "any")
	}
	return tags, nil
}

func parsePyVersion(s string) (major, minor int, err error) {
	parts := strings.Split(s, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, 0, fmt.Errorf("python version %q: want MAJOR.MINOR", s)
	}
	nums := make([]int, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 999 || p != strconv.Itoa(n) {
			return 0, 0, fmt.Errorf("python version %q: want MAJOR.MINOR", s)
		}
		nums[i] = n
	}
	if nums[0] < 2 {
		return 0, 0, fmt.Errorf("python version %q: major version must be at least 2", s)
	}
	return nums[0], nums[1], nil
}

// ManylinuxPlatforms returns the Linux platform tags a glibc system of the
// given architecture and glibc version accepts, best first, as
// packaging.tags does: manylinux_<major>_<minor>_<arch> from the running
// glibc down to 2.17 (2.5 on x86_64 and i686), each legacy alias
// (manylinux2014 = 2.17, manylinux2010 = 2.12, manylinux1 = 2.5) right after
// its PEP 600 name, and finally linux_<arch>. Musl systems are not covered.
// For example ManylinuxPlatforms("x86_64", 2, 17) starts
// [manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux_2_16_x86_64 …].
func ManylinuxPlatforms(arch string, glibcMajor, glibcMinor int) []string {
	arch = strings.ToLower(arch)
	archs := []string{arch}
	if arch == "armv8l" {
		archs = append(archs, "armv7l")
	}
	var plats []string
	for _, a := range archs {
		if glibcMajor != 2 {
			break
		}
		floor := 16 // manylinux starts at glibc 2.17 for most architectures
		if a == "x86_64" || a == "i686" {
			floor = 4
		}
		for m := glibcMinor; m > floor; m-- {
			plats = append(plats, fmt.Sprintf("manylinux_2_%d_%s", m, a))
			if legacy := legacyManylinux[m]; legacy != "" {
				plats = append(plats, legacy+"_"+a)
			}
		}
	}
	for _, a := range archs {
		plats = append(plats, "linux_"+a)
	}
	return plats
}

var legacyManylinux = map[int]string{17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
