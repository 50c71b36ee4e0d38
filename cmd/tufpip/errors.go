package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/tufpip/tufpip/cache"
	"github.com/tufpip/tufpip/index"
	"github.com/tufpip/tufpip/index/multirepo"
	"github.com/tufpip/tufpip/updater"
	"github.com/tufpip/tufpip/updater/httpx"
)

// reportError is the one place where errors become what users read and
// exit codes: "tufpip: <what failed>", then "hint: <what to do>".
func reportError(w io.Writer, err error) int {
	if errors.Is(err, errSilent) {
		return exitFailed
	}
	msg, hint, code := describe(err)
	fmt.Fprintf(w, "tufpip: %s\n", msg)
	writeHint(w, hint)
	return code
}

// writeHint prints hint on a "hint: " line, or nothing if it is empty.
// Every hint users read goes through here: reportError's, and those of
// the summaries that commands print themselves (download, verify,
// warnings).
func writeHint(w io.Writer, hint string) {
	if hint != "" {
		fmt.Fprintf(w, "hint: %s\n", hint)
	}
}

func describe(err error) (msg, hint string, code int) {
	// Error text quotes the network (server bodies, unsigned metadata
	// fields, file names) and URLs: redacted and escaped here, where
	// every error becomes words. The message is one line; a hint may
	// have several.
	defer func() { msg, hint = httpx.SafeLine(msg), httpx.SafeText(hint) }()
	msg = err.Error()
	var (
		ue   usageError
		me   *updater.MetadataError
		ne   *updater.NetworkError
		mm   *updater.MismatchError
		rErr *httpx.RedirectError
		hs   *httpx.StatusError
		mErr *multirepo.MapError
	)
	switch {
	case errors.As(err, &ue):
		// The user's to fix, with what to do when the code knows.
		return msg, ue.hint, exitUsage
	case errors.As(err, &mErr):
		return msg, "fix the map file: every repository it names must be registered with \"tufpip init\", every mapping needs paths, repositories and a threshold from 1 to the number of its repositories (see docs/multirepo.md); nothing was served", exitUsage
	case errors.As(err, new(*storeError)):
		return msg, storeHint, exitUsage
	case errors.Is(err, context.Canceled):
		return "interrupted", "", interruptExitCode(err)
	case errors.Is(err, cache.ErrCacheFull):
		return msg, "raise --cache-max-size (or cache-max-size in the config file), or make room with \"tufpip cache clean\"; nothing was written", exitUsage
	case errors.Is(err, cache.ErrTooLarge):
		return msg, "the server sent more than tufpip accepts for such a file (a hostile or broken server); nothing was written", exitFailed
	case errors.As(err, &mm):
		return msg, "the file does not match what the repository signed: a tampered mirror, a broken download or a corrupted cache; nothing was written", exitFailed
	case errors.Is(err, updater.ErrExpired):
		return msg, "the repository's signed metadata has expired (a freeze attack, or a repository that stopped re-signing); nothing was trusted. Try again later or contact the repository operators", exitUsage
	case errors.As(err, &me):
		return msg, "the repository's TUF metadata did not verify; treat this as an attack until shown otherwise. Nothing was trusted", exitUsage
	case errors.As(err, new(*multirepo.UnmappedError)):
		return msg, "no mapping of the map file matches it, so it is not served: add a mapping whose paths match it, or end the map with a catch-all (\"*\" for project names; for get, which matches the target path, \"*/*\" for index pages and \"*/*/*/*\" for distributions); see docs/multirepo.md", exitUsage
	case errors.As(err, new(*multirepo.NotResolvedError)) && (errors.Is(err, updater.ErrNotSigned) || errors.Is(err, index.ErrProjectNotFound)):
		// The repositories answered; the map file's rules refused it.
		code := exitUsage
		if errors.Is(err, updater.ErrNotSigned) {
			code = exitFailed
		}
		return msg, "the map file gives it only to the repositories of the mapping named above, and fewer than its threshold signed it with identical length and hashes (a terminating mapping asks no other repository); nothing was written. If they disagree, one of them serves other bytes: find out which before changing the map file", code
	case errors.Is(err, updater.ErrNotSigned):
		return msg, "the repository has not signed this file or page, so tufpip will not serve it", exitFailed
	case errors.Is(err, updater.ErrNoTrustedRoot):
		return msg, "pass the repository's root.json with --root", exitUsage
	case errors.As(err, &rErr):
		return msg, "the server redirected to another host; tufpip refuses that", exitUsage
	case errors.As(err, &ne) && errors.As(err, &hs) && (hs.StatusCode == 401 || hs.StatusCode == 403):
		return msg, "the repository wants credentials: put them in ~/.netrc (machine HOST login USER password PASS) or in TUFPIP_USERNAME and TUFPIP_PASSWORD. tufpip sends them only to that host, and over plain http only to a loopback address", exitUsage
	case errors.As(err, &ne):
		return msg, "check the repository URLs and your network; nothing was trusted", exitUsage
	}
	return msg, "", exitUsage
}

// readLimited reads at most max bytes and fails beyond that.
func readLimited(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("more than %d bytes", max)
	}
	return b, nil
}
