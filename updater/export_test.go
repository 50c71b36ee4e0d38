package updater

import (
	"strings"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// SetRefreshWaiting makes every caller of u's shared refresh call f once
// it has joined (or started) the refresh and is about to wait for it.
func SetRefreshWaiting(u *Updater, f func()) { u.refreshWaiting = f }

// SetBinGuess replaces how u's refreshes guess the hash bin to download
// beside targets.json (guessSuccinctBin).
func SetBinGuess(u *Updater, f func(snapshotRoles []string, targetPath string) string) {
	u.guessBin = func(meta map[string]*metadata.MetaFiles, targetPath string) string {
		roles := make([]string, 0, len(meta))
		for name := range meta {
			roles = append(roles, strings.TrimSuffix(name, ".json"))
		}
		return f(roles, targetPath)
	}
}
