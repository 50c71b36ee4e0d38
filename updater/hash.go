package updater

import "hash"

// NewHash returns a new hash computing the TUF hash algorithm alg
// (HashBLAKE2b256, HashSHA256, HashSHA512), or nil for an algorithm
// tufpip cannot verify. It is the one list of them: KnownHashes and
// Verifier go through it too.
func NewHash(alg string) hash.Hash { return newHash(alg) }
