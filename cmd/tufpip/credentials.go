package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/tufpip/tufpip/updater/httpx"
)

// Environment variables holding the repository's basic-auth credential.
// They are not flags (TUFPIP_<FLAG>): a password on a command line is
// visible to every user of the machine.
const (
	envUsername = "TUFPIP_USERNAME"
	envPassword = "TUFPIP_PASSWORD"
)

// repoCredentials moves the credentials out of rc's URLs (so that no URL
// tufpip prints, logs or puts in an error holds them) and gathers, in
// order of precedence, those of the URLs' userinfo, of TUFPIP_USERNAME
// and TUFPIP_PASSWORD (sent to the origins of the repository's URLs, and
// nowhere else), and of the .netrc file ($NETRC, else ~/.netrc; per
// machine).
func (g *globals) repoCredentials(rc repoConfig) (repoConfig, *httpx.Credentials, error) {
	creds := &httpx.Credentials{}
	for _, u := range []*string{&rc.MetadataURL, &rc.IndexURL, &rc.FilesURL} {
		if *u == "" {
			continue
		}
		clean, user, pass, ok, err := httpx.StripUserinfo(*u)
		if err != nil {
			return rc, nil, usagef("invalid URL %q: %v", httpx.RedactURL(*u), err)
		}
		if ok {
			if err := creds.AddOrigin(clean, httpx.Credential{Username: user, Password: pass, Source: "the URL"}); err != nil {
				return rc, nil, usageError{err: err}
			}
		}
		*u = clean
	}
	if pass, ok := os.LookupEnv(envPassword); ok {
		c := httpx.Credential{Username: os.Getenv(envUsername), Password: pass, Source: envPassword}
		for _, u := range []string{rc.MetadataURL, rc.IndexURL, rc.FilesURL} {
			if u != "" && !creds.HasOrigin(u) {
				if err := creds.AddOrigin(u, c); err != nil {
					return rc, nil, usageError{err: err}
				}
			}
		}
	}
	path, explicit := netrcPath()
	if path != "" {
		data, err := os.ReadFile(path)
		switch {
		case errors.Is(err, fs.ErrNotExist) && !explicit:
		case err != nil:
			return rc, nil, usagef("reading the netrc file: %v", err)
		default:
			entries, err := httpx.ParseNetrc(data)
			if err != nil {
				return rc, nil, usagef("netrc file %s: %v", path, err)
			}
			creds.AddNetrc(entries, path)
		}
	}
	return rc, creds, nil
}

// netrcPath is $NETRC (explicit: it must exist), else ~/.netrc.
func netrcPath() (path string, explicit bool) {
	if p := os.Getenv("NETRC"); p != "" {
		return p, true
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", false
	}
	return filepath.Join(home, ".netrc"), false
}

// warnStoredCredentials: init keeps URLs as given, so credentials in
// them are stored in plain text in the repository's config file.
func warnStoredCredentials(g *globals, rc repoConfig, file string) {
	for _, u := range []struct{ flag, url string }{{"--metadata-url", rc.MetadataURL}, {"--index-url", rc.IndexURL}, {"--files-url", rc.FilesURL}} {
		if _, _, _, ok, _ := httpx.StripUserinfo(u.url); ok {
			fmt.Fprintf(g.stderr, "tufpip: warning: %s holds credentials, stored in plain text in %s\n", u.flag, file)
			writeHint(g.stderr, fmt.Sprintf("put them in ~/.netrc (machine HOST login USER password PASS) or %s instead, and give the URL without them", envPassword))
		}
	}
}
