package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/adrg/xdg"
)

// DefaultRoot is where tufpip keeps re-creatable data (artifacts, cached
// metadata) when the user names no other place. Losing it costs only
// downloads, which is why it lives under the XDG cache directory. Callers
// may override it with a flag or environment variable.
func DefaultRoot() string {
	return filepath.Join(xdg.CacheHome, "tufpip")
}

// StateRoot is where tufpip keeps data that must survive a cache wipe, such
// as the newest trusted versions that rollback protection compares against.
// Deleting the cache must not reset what the client has already trusted,
// so this lives under XDG_STATE_HOME rather than the cache.
func StateRoot() string {
	return filepath.Join(xdg.StateHome, "tufpip")
}

// repoKeyHostMax bounds the readable part of a RepoKey so that a hostile or
// very long host name cannot push the directory name past file-system
// limits (255 bytes on most).
const repoKeyHostMax = 64

// RepoKey names the metadata directory of the repository whose TUF metadata
// lives at metadataURL. Each repository must have its own trusted state:
// sharing a directory between two repositories would let one's root vouch
// for the other's files.
//
// The key is the host (for humans reading the cache) followed by 16 hex
// digits of the SHA-256 of the normalised URL (for uniqueness), e.g.
// "pypi.org-3f1c0e5a9b2d4c7e". Normalisation only merges spellings that
// name the same directory: scheme and host are case-folded, a default port
// is dropped, and a trailing slash is implied. Anything else, including
// the query, keeps URLs apart, because wrongly merging two repositories is
// a security bug while wrongly splitting one only costs a re-download.
func RepoKey(metadataURL string) string {
	norm, host := normaliseMetadataURL(metadataURL)
	sum := sha256.Sum256([]byte(norm))
	return safeName(host) + "-" + hex.EncodeToString(sum[:8])
}

func normaliseMetadataURL(raw string) (norm, host string) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return raw, "repo"
	}
	u.Scheme = strings.ToLower(u.Scheme)
	u.Host = strings.ToLower(u.Host)
	switch {
	case u.Scheme == "https" && u.Port() == "443", u.Scheme == "http" && u.Port() == "80":
		u.Host = u.Hostname()
		if strings.Contains(u.Host, ":") { // IPv6 literal lost its brackets
			u.Host = "[" + u.Host + "]"
		}
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	u.Fragment, u.RawFragment = "", ""
	host = u.Hostname()
	if p := u.Port(); p != "" {
		host += "_" + p
	}
	return u.String(), host
}

// safeName keeps only characters that are safe and unambiguous in a file
// name on every platform tufpip runs on.
func safeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			b.WriteRune(r)
		case r >= 'A' && r <= 'Z':
			b.WriteRune(r - 'A' + 'a')
		default:
			b.WriteByte('_')
		}
		if b.Len() >= repoKeyHostMax {
			break
		}
	}
	// No leading '-' (read as an option by shell tools) or dots.
	name := strings.TrimRight(strings.TrimLeft(b.String(), ".-"), ".")
	if name == "" {
		return "repo"
	}
	return name
}

// MetadataDir returns <root>/metadata/<repoName>, creating it if needed.
// The directory holds trusted metadata, so it is made private to the user
// (0700) and an existing directory with wider permissions is tightened:
// anyone who can write there can choose what tufpip trusts next.
// repoName must be a single path element, normally from RepoKey.
func MetadataDir(root, repoName string) (string, error) {
	if repoName == "" || repoName == "." || repoName == ".." ||
		strings.ContainsAny(repoName, `/\`+"\x00") || filepath.Base(repoName) != repoName {
		return "", fmt.Errorf("metadata directory name %q is not a single path element", repoName)
	}
	dir := filepath.Join(root, "metadata", repoName)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("creating metadata directory: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return "", fmt.Errorf("creating metadata directory: %w", err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("metadata directory %s is not a directory", dir)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return "", fmt.Errorf("making metadata directory private: %w", err)
		}
	}
	return dir, nil
}
