// Package objectstore is the S3 tier of the artifact cache: a bucket (AWS
// S3 or any S3-compatible store: Ceph RGW, SeaweedFS, Versity, GCS's S3
// API, MinIO) that several proxies share. It implements cache.Remote by
// shape without importing cache: it only moves bytes. It trusts nothing
// and decides nothing; the cache verifies every object it reads.
package objectstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// Options configures a Bucket. The zero value uses the standard AWS
// configuration: AWS_REGION, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY,
// AWS_PROFILE and ~/.aws/config, AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL.
type Options struct {
	// Endpoint overrides the S3 endpoint (https://s3.example.internal).
	Endpoint string
	// Region overrides the region; empty falls back to the AWS
	// configuration, then "us-east-1" (what most S3-compatible stores
	// accept).
	Region string
	// PathStyle addresses the bucket as ENDPOINT/BUCKET/KEY rather than
	// BUCKET.ENDPOINT/KEY; most self-hosted stores need it.
	PathStyle bool
	// HTTPClient, if set, carries the requests.
	HTTPClient *http.Client
}

// Location is a parsed s3://bucket/prefix URL.
type Location struct {
	Bucket string
	Prefix string // no leading or trailing slash; may be empty
}

// ParseURL parses s3://bucket[/prefix].
func ParseURL(raw string) (Location, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Location{}, fmt.Errorf("parsing store URL: %w", err)
	}
	if u.Scheme != "s3" {
		return Location{}, fmt.Errorf("store URL %q: scheme must be s3", raw)
	}
	if u.Host == "" {
		return Location{}, fmt.Errorf("store URL %q: no bucket", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return Location{}, fmt.Errorf("store URL %q: only s3://bucket/prefix is allowed (credentials come from the AWS environment)", raw)
	}
	prefix := strings.Trim(u.Path, "/")
	if strings.Contains(prefix, "//") || strings.Contains("/"+prefix+"/", "/../") || strings.Contains("/"+prefix+"/", "/./") {
		return Location{}, fmt.Errorf("store URL %q: bad prefix", raw)
	}
	return Location{Bucket: u.Host, Prefix: prefix}, nil
}

func (l Location) String() string {
	if l.Prefix == "" {
		return "s3://" + l.Bucket
	}
	return "s3://" + l.Bucket + "/" + l.Prefix
}

// Bucket is an S3 bucket (and key prefix) holding artifacts.
type Bucket struct {
	loc Location
	c   *s3.Client
}

// Open returns the bucket at loc. It does not contact the store.
func Open(ctx context.Context, loc Location, o Options) (*Bucket, error) {
	var lo []func(*config.LoadOptions) error
	if o.Region != "" {
		lo = append(lo, config.WithRegion(o.Region))
	}
	if o.HTTPClient != nil {
		lo = append(lo, config.WithHTTPClient(o.HTTPClient))
	}
	cfg, err := config.LoadDefaultConfig(ctx, lo...)
	if err != nil {
		return nil, fmt.Errorf("loading the AWS configuration for %s: %w", loc, err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	c := s3.NewFromConfig(cfg, func(so *s3.Options) {
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
		}
		so.UsePathStyle = o.PathStyle
		// Checksums only when the operation needs one: several
		// S3-compatible stores reject the newer trailing checksums, and
		// the cache verifies every object with the signed hashes anyway.
		so.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		so.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	return &Bucket{loc: loc, c: c}, nil
}

func (b *Bucket) String() string { return b.loc.String() }

func (b *Bucket) key(k string) string {
	if b.loc.Prefix == "" {
		return k
	}
	return path.Join(b.loc.Prefix, k)
}

// Get opens the object under key; a missing one wraps fs.ErrNotExist.
func (b *Bucket) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	out, err := b.c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b.loc.Bucket), Key: aws.String(b.key(key))})
	if err != nil {
		if notFound(err) {
			return nil, fmt.Errorf("%s/%s: %w", b.loc, key, fs.ErrNotExist)
		}
		return nil, fmt.Errorf("getting %s/%s: %w", b.loc, key, err)
	}
	return out.Body, nil
}

// Put stores size bytes from r under key. The same key always gets the
// same bytes (it is their hash), so a race between replicas is harmless.
func (b *Bucket) Put(ctx context.Context, key string, r io.ReadSeeker, size int64) error {
	_, err := b.c.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(b.loc.Bucket),
		Key:           aws.String(b.key(key)),
		Body:          r,
		ContentLength: aws.Int64(size),
		ContentType:   aws.String("application/octet-stream"),
	})
	if err != nil {
		return fmt.Errorf("putting %s/%s: %w", b.loc, key, err)
	}
	return nil
}

// Delete removes the object under key.
func (b *Bucket) Delete(ctx context.Context, key string) error {
	_, err := b.c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b.loc.Bucket), Key: aws.String(b.key(key))})
	if err != nil && !notFound(err) {
		return fmt.Errorf("deleting %s/%s: %w", b.loc, key, err)
	}
	return nil
}

// Check asks the store whether the bucket exists and is reachable with
// these credentials, so that a misconfigured store fails at start.
func (b *Bucket) Check(ctx context.Context) error {
	if _, err := b.c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(b.loc.Bucket)}); err != nil {
		return fmt.Errorf("checking bucket %s: %w", b.loc, err)
	}
	return nil
}

func notFound(err error) bool {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nf) {
		return true
	}
	var ae smithy.APIError
	return errors.As(err, &ae) && (ae.ErrorCode() == "NoSuchKey" || ae.ErrorCode() == "NotFound")
}
