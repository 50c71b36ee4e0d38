package integration

import "testing"

// rebindingRows are the attack matrix rows for DNS rebinding: a web page
// the user visits resolves its own name to 127.0.0.1 and reads the
// proxy's answers from the browser. The proxy answers only its own names.
func rebindingRows() []matrixRow {
	const na = "a browser attack on the proxy's HTTP server; the commands serve nothing"
	row := func(name, what, path string) matrixRow {
		return matrixRow{
			name: name,
			attack: "A web page the user visits rebinds its own name (attacker.example) to 127.0.0.1 and, from the browser, requests the proxy's " +
				what + " with `Host: attacker.example:PORT`, to read trusted versions, the repository URL and cache contents.",
			// The attack is the request itself: the repository is as
			// published.
			setup:    func(*testing.T, *matrixEnv) {},
			get:      cellWant{na: na},
			download: cellWant{na: na},
			verify:   cellWant{na: na},
			proxy: cellWant{status: 421, request: &attackRequest{
				describe: "GET " + path + " with Host attacker.example",
				method:   "GET", path: path,
				header: map[string]string{"Host": "attacker.example:8458"},
			}, text: []string{`Host "attacker.example:8458" is not a name this proxy answers to`, "hint: if clients reach the proxy as attacker.example, start it with --hostname attacker.example"}},
		}
	}
	return []matrixRow{
		row("dns-rebinding-status", "status page", "/-/status"),
		row("dns-rebinding-page", "index page for lib", "/simple/lib/"),
	}
}
