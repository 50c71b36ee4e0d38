package integration

// staleRows are the attack matrix rows for superseded pages served as stale (proxy).
func staleRows() []matrixRow {
	return nil
}
