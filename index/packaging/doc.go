// Package packaging is the Python packaging vocabulary tufpip reasons
// with: PEP 503 project names, PEP 440 versions and specifiers, PEP 508
// requirements and environment markers (pip requirements files
// included), PEP 425 wheel tags and the tags an interpreter accepts,
// distribution file names (PEP 427, 491, 625 and legacy sdists), the
// --hash algorithms pip accepts, and release selection (SelectRelease):
// which release and files of a project "pip download --no-deps" would
// take.
//
// It is pure: stdlib only, no I/O beyond an io.Reader it is handed, no
// network, no TUF, no HTTP, no knowledge of index pages or of what is
// verified. It must not grow any: callers that detect the running
// interpreter, fetch pages or verify files (index, cmd/tufpip) hand it
// plain values. Parsers treat their input as hostile: they bound sizes,
// refuse path tricks in names and file names, and drop values they cannot
// vouch for rather than guess.
package packaging
