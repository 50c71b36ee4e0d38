package integration

import (
	"net/http"
	"testing"

	"github.com/tufpip/tufpip/integration/repogen"
)

// naStale: only the proxy remembers verified pages.
const naStale = "the commands keep no verified page between runs, so they have none to fall back on; a page upstream will not serve fails them (see the http-error rows)"

// staleRows are the attack matrix rows for superseded pages served as stale (proxy).
func staleRows() []matrixRow {
	superseded := []string{
		"project lib: the last verified page is no longer what the repository signs (snapshot version ",
		"); not serving it stale (the repository is unreachable: ",
		"unexpected HTTP status 503",
	}
	return []matrixRow{
		{
			name: "stale-page-yanked",
			attack: "The proxy has verified lib's page; the repository yanks lib 1.1 and the proxy verifies the new metadata; the mirror then answers lib's page with 503, " +
				"hoping the proxy falls back to the last page it verified, where 1.1 is not yanked.",
			setup: func(t *testing.T, e *matrixEnv) {
				staleSetup(t, e, func() error { return e.tr.Yank("lib", "1.1", "broken build") })
			},
			get:      cellWant{na: naStale},
			download: cellWant{na: naStale},
			verify:   cellWant{na: naStale},
			proxy:    cellWant{status: 503, at: "page", text: superseded},
		},
		{
			name: "stale-page-removed",
			attack: "The proxy has verified lib's (unsigned, dists-only) page; the repository deletes the lib 1.1 release, so its files are no longer signed; the mirror, which still has them, " +
				"answers lib's page with 503, hoping the proxy falls back to the last page it verified, which lists 1.1.",
			opts: repogen.Options{IndexLayout: repogen.IndexLayoutDistsOnly},
			setup: func(t *testing.T, e *matrixEnv) {
				staleSetup(t, e, func() error { return e.tr.RemoveRelease("lib", "1.1") })
			},
			get:      cellWant{na: naStale},
			download: cellWant{na: naStale},
			verify:   cellWant{na: naStale},
			proxy:    cellWant{status: 404, at: "file", nomatch: true, text: []string{"{wheel} is not a verified file of lib"}},
		},
		{
			name: "stale-page-unchanged",
			attack: "Not an attack but the fault the last verified page is kept for: the repository re-signs its snapshot (lib's page unchanged) and the mirror answers lib's page with 503. " +
				"The proxy serves the page it verified, since the new metadata still signs exactly those bytes, and pip installs.",
			setup: func(t *testing.T, e *matrixEnv) {
				staleSetup(t, e, func() error { return e.tr.ResignOnline(repogen.RoleSnapshot) })
			},
			get:      cellWant{na: naStale},
			download: cellWant{na: naStale},
			verify:   cellWant{na: naStale},
			proxy:    cellWant{ok: true},
		},
	}
}

// staleSetup lets the running proxy verify lib's page, applies the
// repository's legitimate change, and makes the mirror answer lib's page
// (at its new URL) with 503.
func staleSetup(t *testing.T, e *matrixEnv, change func() error) {
	t.Helper()
	if res := get(t, "GET", e.proxy.URL+"lib/"); res.Status != http.StatusOK {
		t.Fatalf("the proxy did not verify lib's page before the attack: %d %q", res.Status, res.Body)
	}
	matrixMust(t, change())
	e.tr.recordLegit(t)
	failPage(e.h, e.tr, "lib", hostileRule{status: http.StatusServiceUnavailable})
}

// failPage makes the mirror answer every URL the proxy fetches project's
// page from with rule: servedPagePath, and in the pep458 layout also the
// plain <index>/<project>/ it fetches alongside the page's bin (used
// only if it verifies).
func failPage(h *hostileHandler, tr *testRepo, project string, rule hostileRule) {
	h.set(servedPagePath(tr, project), rule)
	if tr.Layout == repogen.IndexLayoutPEP458 {
		h.set("/simple/"+project+"/", rule)
	}
}

// servedPagePath is the URL path the proxy fetches project's page from.
func servedPagePath(tr *testRepo, project string) string {
	switch tr.Layout {
	case repogen.IndexLayoutPEP458:
		return "/simple/" + project + "/" + tr.Targets()[tr.PageTarget(project)].Hashes[repogen.HashBlake2b256] + "." + project + ".html"
	case repogen.IndexLayoutSimplePath:
		return "/simple/" + project + "/index.html"
	}
	return "/simple/" + project + "/"
}
