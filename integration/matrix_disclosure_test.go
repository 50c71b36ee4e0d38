package integration

// disclosureRows are the attack matrix rows for credential leaks, Host headers, terminal control sequences.
func disclosureRows() []matrixRow {
	return nil
}
