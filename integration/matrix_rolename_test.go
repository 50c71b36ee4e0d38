package integration

// roleNameRows are the attack matrix rows for delegated roles named like top-level roles, unsupported spec_version, multi-delegator roles.
func roleNameRows() []matrixRow {
	return nil
}
