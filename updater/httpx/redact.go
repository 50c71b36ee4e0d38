package httpx

import (
	"errors"
	"net/url"
	"regexp"
	"strings"
)

// Credentials in URLs ("https://user:token@host/") must never reach what
// users or pip read: status pages, refusal bodies, logs, error messages.
// These helpers redact them. They belong with the HTTP client (and move
// with it).

// redactedUserinfo replaces a whole userinfo when it has no password: a
// lone user name is often the token itself ("https://TOKEN@host/").
const redactedUserinfo = "xxxxx"

// RedactURL returns raw with any password replaced by "xxxxx", as
// url.URL.Redacted does, and a user name without a password replaced
// too. A string that does not parse is redacted as text.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return RedactText(raw)
	}
	return RedactedURL(u)
}

// RedactedURL is RedactURL for a parsed URL.
func RedactedURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	if u.User == nil {
		return u.String()
	}
	c := *u
	if _, has := u.User.Password(); has {
		c.User = url.UserPassword(u.User.Username(), redactedUserinfo)
	} else {
		c.User = url.User(redactedUserinfo)
	}
	return c.String()
}

// userinfoInText finds "scheme://userinfo@" in free text: the authority
// runs to the last "@" before the path, so a password holding "@" is
// covered whole. Quotes and spaces end it (URLs inside %q or a sentence).
var userinfoInText = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://)([^/?#\s"'<>\\]*)@`)

// RedactText redacts the userinfo of every URL in s: for messages that
// quote URLs (net/http's *url.Error, go-tuf's errors) whose structure is
// not ours to change.
func RedactText(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	return userinfoInText.ReplaceAllStringFunc(s, func(m string) string {
		sub := userinfoInText.FindStringSubmatch(m)
		scheme, info := sub[1], sub[2]
		if user, _, ok := strings.Cut(info, ":"); ok {
			return scheme + user + ":" + redactedUserinfo + "@"
		}
		return scheme + redactedUserinfo + "@"
	})
}

// redactError removes credentials from the URLs an error of net/http
// carries (*url.Error, possibly nested: the retrying client's inside the
// standard client's), in place. The errors are fresh from Do, ours to
// change.
func redactError(err error) error {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if ue, ok := e.(*url.Error); ok {
			ue.URL = RedactURL(ue.URL)
		}
	}
	return err
}

// StripUserinfo splits the credentials off raw: the URL without them, and
// the user name and password it held (ok false if none).
func StripUserinfo(raw string) (clean, user, password string, ok bool, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return raw, "", "", false, err
	}
	if u.User == nil {
		return raw, "", "", false, nil
	}
	user = u.User.Username()
	password, _ = u.User.Password()
	u.User = nil
	return u.String(), user, password, true, nil
}
