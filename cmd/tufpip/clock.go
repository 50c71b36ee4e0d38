package main

import (
	"context"
	"time"

	"github.com/tufpip/tufpip/updater"
)

type clockKey struct{}

// withClock makes the sessions opened under ctx read the time from now:
// tests move the clock past an expiry instead of sleeping until it.
func withClock(ctx context.Context, now func() time.Time) context.Context {
	return context.WithValue(ctx, clockKey{}, now)
}

// sessionClock is the clock the TUF client judges expiry by: the one
// given to withClock, else the system's (or faketime's, see
// updater.ClockFromEnv).
func sessionClock(ctx context.Context) func() time.Time {
	if now, ok := ctx.Value(clockKey{}).(func() time.Time); ok {
		return now
	}
	return updater.ClockFromEnv()
}
