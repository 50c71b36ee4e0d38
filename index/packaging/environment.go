package packaging

import (
	"fmt"
	"strconv"
	"strings"
)

// The target interpreter and platform that files are chosen for, computed
// from what describes them: a Python version, an implementation and
// platform tags. Finding those out about the machine (running python3)
// is I/O and stays with the caller; everything here is a function of its
// arguments.

// Environment is the interpreter and platform files are chosen for.
type Environment struct {
	// PythonVersion is "3.11" or "3.11.4"; it is matched against each
	// file's Requires-Python.
	PythonVersion string
	// Tags are the wheel tags the interpreter accepts, best first
	// (CompatibleTags). A wheel carrying none of them is not chosen.
	Tags []Tag
	// Markers are the values of PEP 508 marker variables.
	Markers map[string]string
}

// TargetEnvironment returns the environment of a pyVersion interpreter of
// implementation impl ("cp", "pp") on platforms (best first, not empty):
// its compatible tags (CompatibleTags) and marker values
// (MarkerEnvironment for the best platform).
func TargetEnvironment(pyVersion, impl string, platforms []string) (Environment, error) {
	tags, err := CompatibleTags(pyVersion, platforms, impl)
	if err != nil {
		return Environment{}, err
	}
	return Environment{PythonVersion: pyVersion, Tags: tags, Markers: MarkerEnvironment(pyVersion, impl, platforms[0])}, nil
}

// ExpandPlatforms applies pip's expansion of --platform values: each value
// may list several platforms separated by commas, and a manylinux2014 or
// manylinux2010 platform also accepts the older legacy manylinux wheels.
// Duplicates are dropped; the order is kept.
func ExpandPlatforms(given []string) []string {
	var out []string
	add := func(p string) {
		for _, q := range out {
			if q == p {
				return
			}
		}
		out = append(out, p)
	}
	for _, p := range given {
		for _, q := range strings.Split(p, ",") {
			q = strings.TrimSpace(q)
			if q == "" {
				continue
			}
			add(q)
			prefix, arch, _ := strings.Cut(q, "_")
			switch prefix {
			case "manylinux2014":
				if arch == "i686" || arch == "x86_64" {
					add("manylinux2010_" + arch)
					add("manylinux1_" + arch)
				}
			case "manylinux2010":
				add("manylinux1_" + arch)
			}
		}
	}
	return out
}

// InterpreterPlatforms returns the platform tags, best first, of an
// interpreter whose sysconfig.get_platform() is platform and whose
// platform.libc_ver() is libc: on Linux with glibc, ManylinuxPlatforms
// for that glibc, else linux_<arch>; on macOS, MacPlatforms; elsewhere the
// platform itself as a tag ("win-amd64" → "win_amd64"). It returns nil
// when platform is empty or a macOS platform it cannot read; the caller
// then falls back to DefaultPlatforms.
func InterpreterPlatforms(platform string, libc []string) []string {
	switch {
	case strings.HasPrefix(platform, "linux-"):
		arch := strings.TrimPrefix(platform, "linux-")
		if len(libc) == 2 && libc[0] == "glibc" {
			if maj, min, ok := parseMajorMinor(libc[1]); ok {
				return ManylinuxPlatforms(arch, maj, min)
			}
		}
		return []string{"linux_" + arch}
	case strings.HasPrefix(platform, "macosx-"):
		parts := strings.Split(platform, "-")
		if len(parts) == 3 {
			if maj, min, ok := parseMajorMinor(parts[1]); ok {
				return MacPlatforms(maj, min, parts[2])
			}
		}
		return nil
	case platform != "":
		return []string{strings.ReplaceAll(strings.ReplaceAll(platform, "-", "_"), ".", "_")}
	}
	return nil
}

// DefaultPlatforms returns the platform tags assumed for an operating
// system and architecture, named as Go names them (runtime.GOOS,
// runtime.GOARCH), when no interpreter can be asked: macOS 11 (arm64) or
// 10.9 (x86_64), Windows by architecture, and elsewhere Linux with glibc
// 2.17, the manylinux2014 baseline.
func DefaultPlatforms(goos, goarch string) []string {
	switch goos {
	case "darwin":
		if goarch == "arm64" {
			return MacPlatforms(11, 0, "arm64")
		}
		return MacPlatforms(10, 9, "x86_64")
	case "windows":
		return []string{map[string]string{"amd64": "win_amd64", "arm64": "win_arm64", "386": "win32"}[goarch]}
	}
	arch := map[string]string{"amd64": "x86_64", "arm64": "aarch64", "386": "i686", "arm": "armv7l", "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}[goarch]
	if arch == "" {
		arch = goarch
	}
	return ManylinuxPlatforms(arch, 2, 17)
}

func parseMajorMinor(s string) (int, int, bool) {
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return 0, 0, false
	}
	maj, err1 := strconv.Atoi(parts[0])
	min, err2 := strconv.Atoi(parts[1])
	return maj, min, err1 == nil && err2 == nil
}

// MacPlatforms returns macOS platform tags, best first, roughly as
// packaging.tags.mac_platforms does: every macOS version down to 10.4
// (x86_64) or 11.0 plus universal2 back to 10.4 (arm64).
func MacPlatforms(major, minor int, arch string) []string {
	formats := []string{arch, "universal2"}
	if arch == "x86_64" {
		formats = []string{"x86_64", "intel", "fat64", "fat32", "universal2", "universal"}
	}
	var out []string
	for m := major; m >= 11; m-- {
		for _, f := range formats {
			out = append(out, fmt.Sprintf("macosx_%d_0_%s", m, f))
		}
	}
	top := 16
	if major == 10 {
		top = minor
	}
	for m := top; m >= 4; m-- {
		if arch == "x86_64" {
			for _, f := range formats {
				out = append(out, fmt.Sprintf("macosx_10_%d_%s", m, f))
			}
		} else {
			out = append(out, fmt.Sprintf("macosx_10_%d_universal2", m))
		}
	}
	return out
}

// MarkerEnvironment returns PEP 508 marker values for a target, derived
// from its Python version ("3.11" or "3.11.4"), implementation ("cp",
// "pp") and best platform tag.
func MarkerEnvironment(pyVersion, impl, platform string) map[string]string {
	parts := strings.Split(pyVersion, ".")
	short := strings.Join(parts[:2], ".")
	full := pyVersion
	if len(parts) == 2 {
		full += ".0"
	}
	env := map[string]string{
		"python_version": short, "python_full_version": full,
		"implementation_name": "cpython", "platform_python_implementation": "CPython",
		"implementation_version": full, "extra": "",
		"os_name": "posix", "sys_platform": "linux", "platform_system": "Linux",
	}
	if impl == "pp" {
		env["implementation_name"], env["platform_python_implementation"] = "pypy", "PyPy"
	}
	machine := platform
	switch {
	case strings.HasPrefix(platform, "macosx_"):
		env["sys_platform"], env["platform_system"] = "darwin", "Darwin"
		p := strings.Split(platform, "_")
		machine = p[len(p)-1]
	case strings.HasPrefix(platform, "win"):
		env["os_name"], env["sys_platform"], env["platform_system"] = "nt", "win32", "Windows"
		machine = map[string]string{"win_amd64": "AMD64", "win32": "x86", "win_arm64": "ARM64"}[platform]
	default:
		// manylinux_2_17_x86_64, musllinux_1_2_aarch64, linux_x86_64
		for _, arch := range []string{"x86_64", "aarch64", "i686", "armv7l", "ppc64le", "s390x", "riscv64"} {
			if strings.HasSuffix(platform, "_"+arch) {
				machine = arch
			}
		}
	}
	env["platform_machine"] = machine
	return env
}
