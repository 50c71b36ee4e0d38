package integration

import (
	"testing"

	"github.com/tufpip/tufpip/integration/repogen"
)

// roleNameRows are the attack matrix rows for delegated roles named like top-level roles, unsupported spec_version, multi-delegator roles.
func roleNameRows() []matrixRow {
	return []matrixRow{
		metadataCells(matrixRow{
			name: "delegated-role-named-timestamp",
			attack: "The bin that signs lib 1.1's wheel delegates it to a role named `timestamp`, signed by the online key: a client that keeps roles under their names " +
				"would save it over its trusted timestamp.json, and then accept a replayed older timestamp.",
			prime: true,
			setup: func(t *testing.T, e *matrixEnv) {
				matrixMust(t, e.tr.DelegateTargets(repogen.RoleTimestamp, []string{e.wheel.Path}, false))
			},
		}, 502, "(role {bin})", `delegates to a role named "timestamp": delegated roles may not take the name of a top-level role`, hintMetadata),
		metadataCells(matrixRow{
			name: "multi-delegator-role",
			attack: "Two bins delegate one role, `shared`, each to a key of its own: the bin that signs lib's index page and the bin that signs lib 1.1's wheel. " +
				"`shared` lists both files and carries only the first bin's key's signature (what the holder of that key alone can make). " +
				"Verified for the page, it must not be trusted for the wheel.",
			setup: func(t *testing.T, e *matrixEnv) {
				page := e.tr.PageTarget("lib")
				if e.tr.BinFor(page) == e.tr.BinFor(e.wheel.Path) {
					t.Fatalf("lib's page and wheel are both in %s", e.tr.BinFor(page))
				}
				matrixMust(t, e.tr.DelegateTargets("shared", []string{page, e.wheel.Path}, true))
			},
		}, 502, "(role shared): as delegated by {bin}: ", "Verifying shared failed, not enough signatures, got 0, want 1", hintMetadata),
		metadataCells(matrixRow{
			name:   "unsupported-spec-version",
			attack: "The repository (or a holder of its online key) publishes a correctly signed timestamp that declares `spec_version` 2.0.0, a TUF specification tufpip does not implement.",
			setup: func(t *testing.T, e *matrixEnv) {
				matrixMust(t, e.tr.SetSpecVersion(repogen.RoleTimestamp, "2.0.0"))
			},
		}, 502, "(role timestamp)", `unsupported spec_version "2.0.0": tufpip supports TUF specification 1.x`, hintMetadata),
	}
}
