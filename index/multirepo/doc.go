// Package multirepo implements TAP 4 (multiple repository consensus) for
// tufpip: the map file that says, for groups of project names (or target
// paths), which registered repositories are authoritative, how many of
// them must agree, and whether the search stops there; and the resolver
// that combines the verified pages of those repositories into one
// verified page whose every file was vouched for by enough of them, with
// the names of the repositories that did.
//
// The map's JSON is the format go-tuf v2 reads (metadata/multirepo:
// "repositories", "mapping" with "paths", "repositories", "threshold",
// "terminating"). Its types are declared here rather than imported: that
// package pulls in go-tuf's client, which only package updater may use,
// and tufpip runs its own workflow per repository (one updater and one
// index.Client each), so only the format is shared, not the code.
//
// Each repository keeps its own trusted state: the resolver asks each
// through its own index.Client, so one repository that is expired,
// unreachable or attacked only fails the mappings that need it.
package multirepo
