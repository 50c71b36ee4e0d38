package repogen

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// rsaBits is the size of generated RSA keys: big enough to be realistic,
// small enough that tests generate them quickly.
const rsaBits = 2048

// storedKey is a private key as kept in .repogen/keys.json.
type storedKey struct {
	ID   string `json:"keyid"`
	Type string `json:"type"`
	PEM  string `json:"pkcs8_pem"`
}

// signingKey is a loaded private key with its TUF public key record.
type signingKey struct {
	id   string
	typ  string
	priv crypto.Signer
	pub  *metadata.Key
}

// newOnlineTypeKey generates a key of the online key's type.
func (r *Repo) newOnlineTypeKey() (*signingKey, error) {
	k, err := generateKey(r.online.typ)
	if err != nil {
		return nil, fmt.Errorf("repogen: %w", err)
	}
	return k, nil
}

func generateKey(keyType string) (*signingKey, error) {
	var priv crypto.Signer
	var err error
	switch keyType {
	case KeyTypeEd25519:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case KeyTypeECDSA:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case KeyTypeRSA:
		priv, err = rsa.GenerateKey(rand.Reader, rsaBits)
	default:
		err = fmt.Errorf("unsupported key type %q", keyType)
	}
	if err != nil {
		return nil, fmt.Errorf("failed to generate %s key: %w", keyType, err)
	}
	return newSigningKey(keyType, priv)
}

func newSigningKey(keyType string, priv crypto.Signer) (*signingKey, error) {
	pub, err := metadata.KeyFromPublicKey(priv.Public())
	if err != nil {
		return nil, fmt.Errorf("failed to describe public key: %w", err)
	}
	id, err := pub.ID()
	if err != nil {
		return nil, err
	}
	return &signingKey{id: id, typ: keyType, priv: priv, pub: pub}, nil
}

func (k *signingKey) store() (storedKey, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k.priv)
	if err != nil {
		return storedKey{}, fmt.Errorf("failed to encode key %s: %w", k.id, err)
	}
	return storedKey{
		ID:   k.id,
		Type: k.typ,
		PEM:  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
	}, nil
}

func (s storedKey) load() (*signingKey, error) {
	block, _ := pem.Decode([]byte(s.PEM))
	if block == nil {
		return nil, fmt.Errorf("key %s: no PEM block", s.ID)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", s.ID, err)
	}
	priv, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("key %s: not a signing key", s.ID)
	}
	sk, err := newSigningKey(s.Type, priv)
	if err != nil {
		return nil, err
	}
	if sk.id != s.ID {
		return nil, fmt.Errorf("key %s: stored key has id %s", s.ID, sk.id)
	}
	return sk, nil
}

// signer returns a fresh sigstore signer for the key. It is fresh on every
// call because sigstore's RSA-PSS signer writes to its options while
// signing, so one shared signer would race between the bin workers.
func (k *signingKey) signer() (signature.Signer, error) {
	switch p := k.priv.(type) {
	case *rsa.PrivateKey:
		// A salt as long as the hash is what securesystemslib (python-tuf)
		// produces and accepts; go-tuf accepts any salt length.
		return signature.LoadRSAPSSSigner(p, crypto.SHA256, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256})
	case *ecdsa.PrivateKey:
		return signature.LoadSigner(p, crypto.SHA256)
	default:
		return signature.LoadSigner(p, crypto.Hash(0))
	}
}

// keyring is every private key of a repository.
type keyring struct {
	// Root are the keys the newest root lists for the root role.
	Root []storedKey `json:"root"`
	// Online signs targets, snapshot, timestamp and every bin.
	Online storedKey `json:"online"`
	// Retired are keys rotated out, kept so old metadata can be explained.
	Retired []storedKey `json:"retired,omitempty"`
}
