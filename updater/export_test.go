package updater

// SetRefreshWaiting makes every caller of u's shared refresh call f once
// it has joined (or started) the refresh and is about to wait for it.
func SetRefreshWaiting(u *Updater, f func()) { u.refreshWaiting = f }
