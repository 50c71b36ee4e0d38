// Package index turns a package repository's index into verified pages
// and files: the layouts that say which index pages and files a
// repository signs and under which TUF target paths (Site, Layout; see
// DESIGN.md §1), and the client (Client) that fetches a project's page,
// verifies it as its layout prescribes, resolves each listed file to the
// signed target info its bytes must match, leaves out files that are
// another project's (CheckOwner) or cannot be verified, and downloads
// files into the verified cache (FetchVerified). It also holds the rules
// built on verified pages that every caller shares: which files release
// selection may choose from (VerifiedPage.Select), which digests are
// vouched for (SignedDigests), when a remembered page may still be served
// (Client.StillSigned), and the memos of verified pages (PageCache for a
// server, PageOnce for a command).
//
// It talks to TUF only through the Lookup interface (*updater.Updater),
// to the network only through the HTTP client it is given, and stores
// bytes only through the cache package. Page parsing and rendering belong
// to index/simple, names, versions, tags and release selection to
// index/packaging, and serving pip to index/proxy: index must not grow
// its own copies of them, nor print, exit or answer HTTP requests.
package index
