// Package simple is the model of the Python package index's Simple API
// pages: PEP 503 HTML and PEP 691 JSON project pages and project lists,
// with PEP 592 yanking, PEP 629 repository versions, PEP 658/714 core
// metadata and PEP 700 sizes, upload times and version lists. It parses
// them (ParseHTML, ParseJSON, ParseProjectListHTML, ParseProjectListJSON),
// renders them (Page.RenderHTML, Page.RenderJSON; golden files in
// testdata/index/golden at the top of the repository), and picks the
// representation a client's Accept header asks for
// (NegotiateContentType).
//
// It knows nothing of TUF or of what is verified: a Page is what a page
// says, trusted or not, and deciding what to believe is the index
// package's job. It does no I/O beyond the io.Reader and io.Writer it is
// handed. Parsers treat their input as hostile: they enforce size limits,
// refuse path tricks in file names and URLs, and drop values (hashes,
// metadata) they cannot vouch for rather than guess.
package simple
