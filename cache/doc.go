// Package cache keeps what tufpip has verified on disk: a content-addressed
// store of artifacts and one metadata directory per repository.
//
// The package decides nothing about trust. Every artifact comes in through
// updater.VerifyCopy against signed target info, and every read checks the
// bytes again, because the cache directory can be damaged by a crash, a full
// disk, bit rot or another program, and the updater cannot tell. What it does
// own is making those bytes durable and safe to share: files change only by
// temp file + fsync + rename, cross-process file locks serialise metadata
// refreshes and keep open artifacts from being evicted, and leftovers from a
// crash are recognisable by name so they can be swept later.
//
// Several processes (a proxy, a CI job, a one-off download) may share one
// cache at the same time; every operation here tolerates that.
package cache
