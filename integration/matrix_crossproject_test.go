package integration

// crossProjectRows are the attack matrix rows for another project's files on a project's page (dists-only).
func crossProjectRows() []matrixRow {
	return nil
}
