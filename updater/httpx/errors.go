package httpx

import "fmt"

// NetworkError means a server could not be reached or answered with an
// unexpected HTTP status; nothing about trust was decided.
type NetworkError struct {
	URL string
	Err error
}

func (e *NetworkError) Error() string {
	// Redacted again here: a NetworkError built elsewhere may quote a URL
	// with credentials.
	return RedactText(fmt.Sprintf("fetching %s: %v", e.URL, e.Err))
}

func (e *NetworkError) Unwrap() error { return e.Err }

// StatusError is an unexpected HTTP status from upstream.
type StatusError struct {
	StatusCode int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("unexpected HTTP status %d", e.StatusCode)
}
