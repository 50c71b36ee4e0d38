package main

import (
	"context"
	"crypto/tls"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/tufpip/tufpip/cache/objectstore"
	"github.com/tufpip/tufpip/index/proxy"
)

// teamOptions are the proxy flags for a shared deployment: the artifact
// store several replicas share, and TLS (docs/team.md).
type teamOptions struct {
	store          string
	storeEndpoint  string
	storeRegion    string
	storePathStyle bool
	tlsCert        string
	tlsKey         string
}

func addTeamFlags(cmd *cobra.Command, o *teamOptions) {
	f := cmd.Flags()
	f.StringVar(&o.store, "store", "", "share verified files with other replicas through an S3 bucket, s3://BUCKET/PREFIX (credentials, region and endpoint from the standard AWS environment variables and ~/.aws; every object is verified again before it is served); the local cache stays in front of it")
	f.StringVar(&o.storeEndpoint, "store-endpoint", "", "S3 endpoint URL for --store, such as https://rgw.corp:7480 (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, or AWS itself)")
	f.StringVar(&o.storeRegion, "store-region", "", "region for --store (default: AWS_REGION or ~/.aws/config, else us-east-1)")
	f.BoolVar(&o.storePathStyle, "store-path-style", false, "address the --store bucket as ENDPOINT/BUCKET (most self-hosted S3 stores: Ceph, SeaweedFS, Versity, MinIO) instead of BUCKET.ENDPOINT")
	f.StringVar(&o.tlsCert, "tls-cert", "", "serve HTTPS with this PEM certificate chain (with --tls-key); reloaded when the file changes or on SIGHUP")
	f.StringVar(&o.tlsKey, "tls-key", "", "the PEM private key of --tls-cert")
}

// checkTeamFlags refuses half-given TLS and store flags.
func checkTeamFlags(o *teamOptions) error {
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return usagef("--tls-cert and --tls-key go together").withHint("give both: the certificate chain and its private key, PEM files")
	}
	if o.store == "" && (o.storeEndpoint != "" || o.storeRegion != "" || o.storePathStyle) {
		return usagef("--store-endpoint, --store-region and --store-path-style need --store").withHint("add --store s3://BUCKET/PREFIX")
	}
	if o.store != "" {
		if _, err := objectstore.ParseURL(o.store); err != nil {
			return usagef("invalid --store: %v", err).withHint("give s3://BUCKET or s3://BUCKET/PREFIX; the endpoint goes in --store-endpoint, credentials in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or ~/.aws")
		}
	}
	return nil
}

// openRemote opens the --store bucket and checks it is reachable, so that
// a misconfigured store stops the proxy at start; nil when there is none.
func openRemote(ctx context.Context, g *globals, o *teamOptions) (*objectstore.Bucket, error) {
	if o.store == "" {
		return nil, nil
	}
	loc, err := objectstore.ParseURL(o.store)
	if err != nil {
		return nil, usagef("invalid --store: %v", err)
	}
	b, err := objectstore.Open(ctx, loc, objectstore.Options{Endpoint: o.storeEndpoint, Region: o.storeRegion, PathStyle: o.storePathStyle})
	if err != nil {
		return nil, err
	}
	if err := b.Check(ctx); err != nil {
		return nil, &storeError{err: err}
	}
	g.logger.Info("sharing verified files through the artifact store", "store", b.String())
	return b, nil
}

// storeError is an artifact store the proxy could not reach at start.
type storeError struct{ err error }

func (e *storeError) Error() string { return "artifact store: " + e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

// storeHint says what to check when the store is unreachable.
const storeHint = "check the bucket exists, --store-endpoint (or AWS_ENDPOINT_URL), --store-path-style for self-hosted stores, and the credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE)"

// serverTLS loads --tls-cert/--tls-key and reloads them on SIGHUP until
// ctx ends; nil without TLS.
func serverTLS(ctx context.Context, g *globals, o *teamOptions) (*tls.Config, error) {
	if o.tlsCert == "" {
		return nil, nil
	}
	cert, err := proxy.LoadCertificate(o.tlsCert, o.tlsKey)
	if err != nil {
		return nil, usagef("%v", err).withHint("--tls-cert is the PEM certificate chain (server first), --tls-key its PEM private key")
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				if err := cert.Reload(); err != nil {
					g.logger.Warn("SIGHUP: could not reload the TLS certificate; keeping the one in use", "err", err)
				} else {
					g.logger.Info("SIGHUP: reloaded the TLS certificate", "cert", o.tlsCert)
				}
			}
		}
	}()
	return cert.TLSConfig(), nil
}

// scheme is the URL scheme the proxy serves.
func (o *teamOptions) scheme() string {
	if o.tlsCert != "" {
		return "https"
	}
	return "http"
}
