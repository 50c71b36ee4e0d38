package integration

// requirementsRows are the attack matrix rows for requirements files that let pip leave the verified index.
func requirementsRows() []matrixRow {
	return nil
}
