package updater

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ErrUnsupportedSpecVersion is wrapped by a MetadataError when a role's
// metadata declares a TUF specification version tufpip does not
// implement: its rules may differ from the ones tufpip checks.
var ErrUnsupportedSpecVersion = errors.New("unsupported spec_version")

// checkSpecVersion refuses metadata (the raw bytes of any role, fetched
// or read from the metadata directory) whose spec_version is not
// 1.MINOR or 1.MINOR.PATCH, decimal, as python-tuf requires (go-tuf does
// not look). Missing is refused too: every TUF 1.x role carries one. It
// reads only the field, with encoding/json as go-tuf does, so it sees the
// value go-tuf would keep.
func checkSpecVersion(role string, data []byte) error {
	var m struct {
		Signed struct {
			SpecVersion *string `json:"spec_version"`
		} `json:"signed"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return nil // not metadata at all: the parser that follows says so
	}
	return specVersionError(role, m.Signed.SpecVersion)
}

// specVersionError is checkSpecVersion's verdict on the spec_version it
// read (nil: none).
func specVersionError(role string, v *string) error {
	if v == nil {
		return &MetadataError{Role: role, Err: fmt.Errorf("%w: none given: tufpip supports TUF specification 1.x", ErrUnsupportedSpecVersion)}
	}
	if !supportedSpecVersion(*v) {
		return &MetadataError{Role: role, Err: fmt.Errorf("%w %q: tufpip supports TUF specification 1.x", ErrUnsupportedSpecVersion, *v)}
	}
	return nil
}

func supportedSpecVersion(v string) bool {
	parts := strings.Split(v, ".")
	if len(parts) < 2 || len(parts) > 3 || parts[0] != "1" {
		return false
	}
	for _, p := range parts {
		if p == "" || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}
