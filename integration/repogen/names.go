package repogen

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

var nameSeparators = regexp.MustCompile(`[-_.]+`)

// NormalizeName is the PEP 503 normalized form of a project name: lower
// case, every run of "-", "_" and "." replaced by one "-". Index URLs and
// page target paths use it.
func NormalizeName(name string) string {
	return strings.ToLower(nameSeparators.ReplaceAllString(name, "-"))
}

// distName is the escaped name used inside wheel and sdist file names and
// as the import package of synthetic projects: normalized, with "_".
func distName(name string) string {
	return strings.ReplaceAll(NormalizeName(name), "-", "_")
}

var validName = regexp.MustCompile(`^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$`)

func checkProjectName(name string) error {
	if !validName.MatchString(name) {
		return fmt.Errorf("invalid project name %q", name)
	}
	return nil
}

var validVersion = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.+!_]*$`)

func checkVersion(v string) error {
	if !validVersion.MatchString(v) || strings.Contains(v, "-") {
		return fmt.Errorf("invalid version %q", v)
	}
	return nil
}

// Kinds of distribution file.
const (
	kindWheel = "wheel"
	kindSdist = "sdist"
)

// parseDistFilename reads the project name and version out of a wheel or
// sdist file name, following the binary distribution format and the sdist
// naming rules. It returns the kind of file.
func parseDistFilename(filename string) (project, version, kind string, err error) {
	switch {
	case strings.HasSuffix(filename, ".whl"):
		parts := strings.Split(strings.TrimSuffix(filename, ".whl"), "-")
		if len(parts) != 5 && len(parts) != 6 {
			return "", "", "", fmt.Errorf("wheel file name %q does not have 5 or 6 dash-separated parts", filename)
		}
		project, version, kind = parts[0], parts[1], kindWheel
	case strings.HasSuffix(filename, ".tar.gz"):
		stem := strings.TrimSuffix(filename, ".tar.gz")
		i := strings.LastIndex(stem, "-")
		if i <= 0 || i == len(stem)-1 {
			return "", "", "", fmt.Errorf("sdist file name %q is not <name>-<version>.tar.gz", filename)
		}
		project, version, kind = stem[:i], stem[i+1:], kindSdist
	default:
		return "", "", "", fmt.Errorf("%q is neither a wheel nor a .tar.gz sdist", filename)
	}
	if err := checkProjectName(project); err != nil {
		return "", "", "", fmt.Errorf("file %q: %w", filename, err)
	}
	if err := checkVersion(version); err != nil {
		return "", "", "", fmt.Errorf("file %q: %w", filename, err)
	}
	return project, version, kind, nil
}

// compareVersions orders release versions well enough for test
// repositories: dot-separated parts compare numerically when both are
// numbers and as strings otherwise. It is not a PEP 440 implementation.
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		if i >= len(as) {
			return -1
		}
		if i >= len(bs) {
			return 1
		}
		an, aerr := strconv.ParseUint(as[i], 10, 64)
		bn, berr := strconv.ParseUint(bs[i], 10, 64)
		switch {
		case aerr == nil && berr == nil:
			if an != bn {
				if an < bn {
					return -1
				}
				return 1
			}
		case as[i] != bs[i]:
			return strings.Compare(as[i], bs[i])
		}
	}
	return 0
}
