package proxy

import (
	"crypto/tls"
	"fmt"
	"os"
	"sync"
	"time"
)

// Certificate is the proxy's TLS certificate and key, loaded from files
// and loaded again when they change, so that a renewed certificate (from
// certbot, cert-manager or an internal CA) is picked up without a
// restart: at the first handshake after the files' size or modification
// time changed (checked at most once a second), or on Reload (which cmd
// calls on SIGHUP). A reload that fails keeps the certificate in use.
type Certificate struct {
	certFile, keyFile string

	mu        sync.Mutex
	cert      *tls.Certificate
	stamp     string
	checkedAt time.Time
}

// LoadCertificate loads the PEM certificate chain and key.
func LoadCertificate(certFile, keyFile string) (*Certificate, error) {
	c := &Certificate{certFile: certFile, keyFile: keyFile}
	if err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// stamp identifies the files' current contents cheaply.
func (c *Certificate) fileStamp() string {
	var s string
	for _, f := range []string{c.certFile, c.keyFile} {
		fi, err := os.Stat(f)
		if err != nil {
			return "?"
		}
		s += fmt.Sprintf("%d/%d;", fi.Size(), fi.ModTime().UnixNano())
	}
	return s
}

// Reload reads the files again.
func (c *Certificate) Reload() error {
	stamp := c.fileStamp()
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("loading TLS certificate %s and key %s: %w", c.certFile, c.keyFile, err)
	}
	c.mu.Lock()
	c.cert, c.stamp, c.checkedAt = &cert, stamp, time.Now()
	c.mu.Unlock()
	return nil
}

// GetCertificate suits tls.Config.GetCertificate.
func (c *Certificate) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	stale := time.Since(c.checkedAt) >= time.Second
	if stale {
		c.checkedAt = time.Now()
	}
	cert, stamp := c.cert, c.stamp
	c.mu.Unlock()
	if stale && c.fileStamp() != stamp {
		// Half-written files fail to parse and keep the old certificate.
		if err := c.Reload(); err == nil {
			c.mu.Lock()
			cert = c.cert
			c.mu.Unlock()
		}
	}
	return cert, nil
}

// TLSConfig is a server configuration that serves c (TLS 1.2 or later).
func (c *Certificate) TLSConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: c.GetCertificate}
}
