// Package index speaks the Python package index protocols that tufpip
// verifies and serves: PEP 503 project names and HTML pages, PEP 691 JSON
// pages with PEP 592 yanking, PEP 629 repository versions, PEP 658/714
// core metadata and PEP 700 sizes, upload times and version lists; it
// parses distribution filenames (PEP 427, 491, 625), PEP 440 versions and
// specifiers, and ranks wheels by interpreter and platform tags the way pip
// does. It also maps projects and files to TUF target paths for each index
// layout that tufpip supports (see DESIGN.md §1).
//
// Everything in this package is pure: no I/O beyond the io.Reader and
// io.Writer it is handed, no network, no TUF. Parsers treat their input as
// hostile: they enforce size limits, refuse path tricks in names and
// filenames, and drop values they cannot vouch for rather than guess.
package index
