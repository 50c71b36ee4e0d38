package integration

import (
	"testing"

	"github.com/tufpip/tufpip/integration/repogen"
)

// crossProjectRows are the attack matrix rows for another project's files on a project's page (dists-only).
//
// A legacy sdist name "<name>-<version>.tar.gz" does not say where the
// name ends: pip reads the files on P's page as P's, so a genuinely
// signed file of another project, listed on P's unsigned page, would be
// installed (and its build backend run) as a release of P. tufpip offers
// a file on P's page only if it is P's (index.CheckOwner): for such an
// ambiguous name, the PKG-INFO inside the verified archive decides.
func crossProjectRows() []matrixRow {
	// get fetches a target path, not a project's file: the planted file
	// is genuinely signed, so get rightly writes it.
	getOK := func(filename string) cellWant {
		return cellWant{ok: true, text: []string{"verified ", "/" + filename + ": ", " bytes, "}}
	}
	return []matrixRow{
		{
			name: "cross-project-sdist",
			attack: "The repository signs lib-9-9.tar.gz, version 9 of project lib-9 (a legacy sdist name); the mirror lists it on lib's page (layout dists-only, where the page is not signed), " +
				"where pip reads it as lib 9-9 (9.post9) and would build it.",
			opts: repogen.Options{IndexLayout: repogen.IndexLayoutDistsOnly},
			setup: func(t *testing.T, e *matrixEnv) {
				f := plantForeignSdist(t, e, "lib",
					repogen.ProjectSpec{Name: "lib-9", Releases: []repogen.ReleaseSpec{{Version: "9", Dists: repogen.Sdist, SdistStem: "lib-9-9"}}})
				e.dlReq, e.pipReq = "lib==9.post9", "lib==9.post9"
				e.verifyArgs = []string{"-r", e.saveLocal(t, "requirements.txt", []byte("lib==9.post9\n"))}
				e.proxyFile = f.Filename
			},
			get:      getOK("lib-9-9.tar.gz"),
			download: cellWant{exit: 1, text: []string{"lib==9.post9: the index lists matching files, but they are not this project's (9.post9: lib-9-9.tar.gz: belongs to project lib-9, not lib)", "nothing was written to"}},
			verify:   cellWant{exit: 1, text: []string{"FAILED  lib==9.post9: lib-9-9.tar.gz: belongs to project lib-9, not lib"}},
			proxy:    cellWant{status: 404, at: "file", nomatch: true, text: []string{"lib-9-9.tar.gz is not a verified file of lib: belongs to project lib-9, not lib"}},
		},
		{
			name: "cross-project-sdist-longer-name",
			attack: "The other way round: the repository signs lib-2-1.tar.gz, lib's release 2-1 (2.post1); the mirror lists it on the page of project lib-2 (dists-only), " +
				"where its name reads as lib-2 1 by pip and by the last \"-\" alike.",
			opts: repogen.Options{IndexLayout: repogen.IndexLayoutDistsOnly},
			setup: func(t *testing.T, e *matrixEnv) {
				matrixMust(t, e.tr.AddRelease(repogen.ProjectSpec{Name: "lib-2", Releases: []repogen.ReleaseSpec{repogen.Release("0.5")}}))
				f := plantForeignSdist(t, e, "lib-2",
					repogen.ProjectSpec{Name: "lib", Releases: []repogen.ReleaseSpec{{Version: "2.post1", Dists: repogen.Sdist, SdistStem: "lib-2-1"}}})
				e.dlReq, e.pipReq = "lib-2==1", "lib-2==1"
				e.verifyArgs = []string{"-r", e.saveLocal(t, "requirements.txt", []byte("lib-2==1\n"))}
				e.proxyProject, e.proxyFile = "lib-2", f.Filename
			},
			get:      getOK("lib-2-1.tar.gz"),
			download: cellWant{exit: 1, text: []string{"lib-2==1: the index lists matching files, but they are not this project's (1: lib-2-1.tar.gz: belongs to project lib, not lib-2)", "nothing was written to"}},
			verify:   cellWant{exit: 1, text: []string{"FAILED  lib-2==1: lib-2-1.tar.gz: belongs to project lib, not lib-2"}},
			proxy:    cellWant{status: 404, at: "file", nomatch: true, text: []string{"lib-2-1.tar.gz is not a verified file of lib-2: belongs to project lib, not lib-2"}},
		},
	}
}

// plantForeignSdist publishes owner's release legitimately (signed, on
// owner's page), then lists its sdist on page's unsigned page as well.
// get asks for the sdist's target path.
func plantForeignSdist(t *testing.T, e *matrixEnv, page string, owner repogen.ProjectSpec) repogen.FileInfo {
	t.Helper()
	matrixMust(t, e.tr.AddRelease(owner))
	e.tr.recordLegit(t)
	f := e.tr.file(t, repogen.NormalizeName(owner.Name), owner.Releases[0].Version, "sdist")
	matrixMust(t, e.tr.ListOnPage(page, f))
	e.getTarget = f.Path
	return f
}
