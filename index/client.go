package index

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/tufpip/tufpip/cache"
	"github.com/tufpip/tufpip/index/packaging"
	"github.com/tufpip/tufpip/index/simple"
	"github.com/tufpip/tufpip/updater"
	"github.com/tufpip/tufpip/updater/httpx"
)

// Lookup is what index needs from TUF: the signed target info for a path.
// *updater.Updater implements it.
type Lookup interface {
	Target(ctx context.Context, path string) (updater.TargetInfo, error)
}

// Client resolves projects to verified pages and files for one
// repository. It is shared by the proxy, download and verify.
type Client struct {
	Site  Site
	TUF   Lookup
	HTTP  *http.Client
	Store *cache.Store
	// MaxPageBytes bounds a page whose length is not signed (dists-only).
	MaxPageBytes int64
	// MaxCoreMetadataBytes bounds a .metadata file (PEP 658), signed
	// length or not; 0 means DefaultMaxCoreMetadataBytes.
	MaxCoreMetadataBytes int64
	// Parallel bounds concurrent target lookups for one page.
	Parallel int
	// SerialPage turns off fetching a signed page while its target info
	// is looked up: the page is then fetched only from the URL the
	// target info gives, one round trip later.
	SerialPage bool
	Logger     *slog.Logger
}

// VerifiedFile is a listed file together with what its bytes must match.
type VerifiedFile struct {
	simple.File
	// Target is the signed target info (or, in the index-only layout,
	// the hashes of the TUF-verified page with UnknownLength).
	Target updater.TargetInfo
	// Metadata is set when the file's PEP 658 metadata can be verified.
	Metadata *updater.TargetInfo
	// Repositories, set only when several repositories serve one index
	// (index/multirepo), are those that vouched for the file with
	// identical length and hashes; Repository is the one whose client
	// fetches it.
	Repositories []string
	Repository   string
}

// MetadataURL is where upstream serves the file's core metadata.
func (f VerifiedFile) MetadataURL() string { return f.URL + ".metadata" }

// Omission records a listed file that was left out, and why.
type Omission struct {
	Filename string
	Reason   string
	// Owner is set when the file was left out because it belongs to
	// another project (CheckOwner): that project's normalized name.
	// Foreign is set for every file CheckOwner refused, Owner known or
	// not.
	Owner   string
	Foreign bool
	// Consensus is set when several repositories serve one index and the
	// file was left out because not enough of them vouched for it with
	// identical length and hashes (index/multirepo); Reason names them.
	Consensus bool
}

// VerifiedPage is a project page reduced to what can be verified.
type VerifiedPage struct {
	Name  string
	Files []VerifiedFile
	// Versions is carried from the page (PEP 700), if any.
	Versions []string
	// PageTarget is the signed page's target info; nil when the layout
	// signs no page (dists-only), in which case only the file list came
	// from the unverified page and every file is individually signed.
	PageTarget *updater.TargetInfo
	Omitted    []Omission
	// Repositories, set only when several repositories serve one index
	// (index/multirepo), are those whose verified page of the project
	// the page was combined from; Mapping is the map file's mapping
	// (from 1) that decided it.
	Repositories []string
	Mapping      int
}

// ValidUntil is when the TUF metadata that vouched for the page and its
// files expires: the earliest Expires among their target infos. It is the
// zero time if any of them does not say.
func (vp *VerifiedPage) ValidUntil() time.Time {
	var until time.Time
	earliest := func(ti *updater.TargetInfo) bool {
		if ti.Expires.IsZero() {
			return false
		}
		if until.IsZero() || ti.Expires.Before(until) {
			until = ti.Expires
		}
		return true
	}
	if vp.PageTarget != nil && !earliest(vp.PageTarget) {
		return time.Time{}
	}
	for i := range vp.Files {
		f := &vp.Files[i]
		if !earliest(&f.Target) || f.Metadata != nil && !earliest(f.Metadata) {
			return time.Time{}
		}
	}
	return until
}

// ErrProjectNotFound means upstream has no page for the project.
var ErrProjectNotFound = errors.New("project not found")

func (c *Client) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

// Page fetches and verifies project's page as the layout prescribes and
// resolves each listed file to what it must match. Files that cannot be
// verified are left out (and listed in Omitted), never passed through.
func (c *Client) Page(ctx context.Context, project string) (*VerifiedPage, error) {
	if !packaging.ValidProjectName(project) {
		return nil, fmt.Errorf("invalid project name %q", project)
	}
	name := packaging.NormalizeName(project)
	if c.Site.IndexURL == nil {
		return nil, errors.New("no index URL configured")
	}
	vp := &VerifiedPage{Name: name}
	var (
		body    []byte
		pageURL string
	)
	if target, signed := c.Site.PageTarget(name); signed {
		// The page's bytes are fetched while its bin is looked up; they
		// are used only if they verify against the signed target info.
		spec := c.speculatePage(ctx, name)
		defer spec.cancel()
		ti, err := c.TUF.Target(ctx, target)
		if err != nil {
			if errors.Is(err, updater.ErrNotSigned) {
				return nil, fmt.Errorf("index page of %s (%s): %w", name, target, err)
			}
			return nil, err
		}
		vp.PageTarget = &ti
		pageURL = c.Site.PageURL(name, ti.Hashes[updater.HashBLAKE2b256])
		if c.Site.Layout == LayoutPEP458 && ti.Hashes[updater.HashBLAKE2b256] == "" {
			return nil, fmt.Errorf("index page of %s: signed target info has no blake2b-256 hash to locate the hashed page", name)
		}
		if b, ok := spec.verified(ti); ok {
			body = b
		} else {
			var buf bytes.Buffer
			if err := c.fetchInto(ctx, &buf, pageURL, ti); err != nil {
				return nil, fmt.Errorf("index page of %s: %w", name, err)
			}
			body = buf.Bytes()
		}
	} else {
		pageURL = c.Site.PageURL(name, "")
		resp, err := httpx.GetStream(ctx, c.HTTP, pageURL, 30*time.Second)
		if err != nil {
			return nil, pageFetchError(name, err)
		}
		defer resp.Body.Close()
		max := c.MaxPageBytes
		if max <= 0 {
			max = simple.DefaultMaxPageBytes
		}
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(limitReader(resp.Body, max)); err != nil {
			return nil, fmt.Errorf("index page of %s: %w", name, err)
		}
		body = buf.Bytes()
	}
	pu, _ := url.Parse(pageURL)
	page, err := simple.ParseHTML(bytes.NewReader(body), pu, int64(len(body))+1)
	if err != nil {
		return nil, fmt.Errorf("index page of %s: %w", name, err)
	}
	vp.Versions = page.Versions
	if err := c.resolveFiles(ctx, vp, page.Files); err != nil {
		return nil, err
	}
	return vp, nil
}

// speculativePage is a page download started before its target info is
// known (Client.speculatePage).
type speculativePage struct {
	url    string
	cancel context.CancelFunc
	done   chan struct{}
	body   []byte
	err    error
	logger *slog.Logger
}

// speculatePage starts downloading name's page from the URL that needs no
// hash (PEP 458: Warehouse's plain <index>/<name>/, whose bytes are those
// of the current hashed page; the other layouts: the signed URL itself),
// bounded by MaxPageBytes. Nothing is done with the bytes until verified
// says they match the signed target info. With SerialPage, or a layout
// that signs no page, nothing is started.
func (c *Client) speculatePage(ctx context.Context, name string) *speculativePage {
	ctx, cancel := context.WithCancel(ctx)
	sp := &speculativePage{cancel: cancel, logger: c.logger()}
	switch c.Site.Layout {
	case LayoutPEP458:
		sp.url = dirURL(c.Site.IndexURL) + name + "/"
	default:
		sp.url = c.Site.PageURL(name, "")
	}
	if c.SerialPage || sp.url == "" {
		return sp
	}
	sp.done = make(chan struct{})
	max := cmp.Or(c.MaxPageBytes, simple.DefaultMaxPageBytes)
	go func() {
		defer close(sp.done)
		// One attempt: on any failure the signed URL is fetched, with
		// retries, so waiting for this one's retries would only delay it.
		resp, err := httpx.GetStream(httpx.NoRetry(ctx), c.HTTP, sp.url, 30*time.Second)
		if err != nil {
			sp.err = err
			return
		}
		defer resp.Body.Close()
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(limitReader(resp.Body, max)); err != nil {
			sp.err = err
			return
		}
		sp.body = buf.Bytes()
	}()
	return sp
}

// verified waits for the speculative download and returns its bytes if
// they match ti (length and every known hash); otherwise false, and the
// caller fetches the page from its signed URL as if nothing had been
// tried.
func (sp *speculativePage) verified(ti updater.TargetInfo) ([]byte, bool) {
	if sp.done == nil {
		return nil, false
	}
	<-sp.done
	if sp.err != nil {
		sp.logger.Debug("page fetched alongside its bin: not usable; fetching the signed URL", "url", httpx.RedactURL(sp.url), "err", sp.err)
		return nil, false
	}
	if _, err := updater.VerifyCopy(nil, bytes.NewReader(sp.body), ti); err != nil {
		sp.logger.Debug("page fetched alongside its bin does not match its signed target info; fetching the signed URL", "url", httpx.RedactURL(sp.url), "err", err)
		return nil, false
	}
	return sp.body, true
}

func pageFetchError(name string, err error) error {
	var hs *httpx.StatusError
	if errors.As(err, &hs) && hs.StatusCode == http.StatusNotFound {
		return fmt.Errorf("%s: %w", name, ErrProjectNotFound)
	}
	return fmt.Errorf("index page of %s: %w", name, err)
}

// fetchInto downloads url into w through verification against ti.
func (c *Client) fetchInto(ctx context.Context, w *bytes.Buffer, url string, ti updater.TargetInfo) error {
	resp, err := httpx.GetStream(ctx, c.HTTP, url, 30*time.Second)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = updater.VerifyCopy(w, resp.Body, ti)
	return err
}

func (c *Client) resolveFiles(ctx context.Context, vp *VerifiedPage, files []simple.File) error {
	out := make([]*VerifiedFile, len(files))
	why := make([]Omission, len(files))
	g, gctx := errgroup.WithContext(ctx)
	par := c.Parallel
	if par <= 0 {
		par = 8
	}
	g.SetLimit(par)
	for i, f := range files {
		g.Go(func() error {
			vf, reason, err := c.resolveFile(gctx, vp.Name, f, vp.PageTarget)
			var fe *ForeignFileError
			switch {
			case errors.As(err, &fe):
				why[i] = Omission{Filename: f.Filename, Reason: fe.Reason(), Owner: fe.Owner, Foreign: true}
			case err != nil:
				return fmt.Errorf("%s: %w", f.Filename, err)
			default:
				out[i], why[i] = vf, Omission{Filename: f.Filename, Reason: reason}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	seen := map[string]bool{}
	for i, vf := range out {
		if vf == nil {
			vp.Omitted = append(vp.Omitted, why[i])
			c.logger().Warn("file left out of page", "project", vp.Name, "file", files[i].Filename, "reason", why[i].Reason)
			continue
		}
		if seen[vf.Filename] {
			vp.Omitted = append(vp.Omitted, Omission{Filename: vf.Filename, Reason: "listed twice"})
			continue
		}
		seen[vf.Filename] = true
		vp.Files = append(vp.Files, *vf)
	}
	return nil
}

// resolveFile returns the verified file, or a reason it is left out, or
// a *ForeignFileError if it is not project's (CheckOwner), or an error
// that should fail the whole page (an attack on metadata, the network, or
// an ambiguous sdist whose bytes did not verify).
func (c *Client) resolveFile(ctx context.Context, project string, f simple.File, page *updater.TargetInfo) (*VerifiedFile, string, error) {
	pageSigned := page != nil
	vf := &VerifiedFile{File: f}
	if !c.Site.DistsSigned() {
		// index-only: the page is signed, files are checked against it.
		hashes := map[string]string{}
		for _, alg := range []string{updater.HashSHA256, updater.HashSHA512} {
			if h, ok := f.Hashes[alg]; ok {
				hashes[alg] = h
			}
		}
		if len(hashes) == 0 {
			return nil, "the verified page gives no sha256 or sha512 for it", nil
		}
		vf.Target = updater.TargetInfo{Path: f.Filename, Length: updater.UnknownLength, Hashes: hashes,
			Role: "page " + page.Path, SnapshotVersion: page.SnapshotVersion, Expires: page.Expires}
	} else {
		target, err := c.Site.FileTarget(f.URL)
		if err != nil {
			return nil, "its URL is not under the repository's files URL: " + err.Error(), nil
		}
		ti, err := c.TUF.Target(ctx, target)
		if errors.Is(err, updater.ErrNotSigned) {
			return nil, "not signed by the repository", nil
		}
		if err != nil {
			return nil, "", err
		}
		// A signed page and a signed target must agree.
		if pageSigned {
			for alg, h := range f.Hashes {
				if th, ok := ti.Hashes[alg]; ok && th != h {
					return nil, fmt.Sprintf("the signed page's %s differs from the signed target's", alg), nil
				}
			}
		}
		vf.Target = ti
	}
	if len(vf.Target.KnownHashes()) == 0 {
		return nil, "its signed target info has no supported hash", nil
	}
	// Only project's own files (see CheckOwner): on an unsigned page,
	// signed files of other projects can be listed.
	open := func(ctx context.Context) (io.ReaderAt, int64, func(), error) {
		if c.Store == nil {
			return nil, 0, nil, errors.New("no artifact cache to read the file into")
		}
		ent, err := c.Open(ctx, *vf)
		if err != nil {
			return nil, 0, nil, err
		}
		return ent.File(), ent.Size, func() { ent.Close() }, nil
	}
	if err := CheckOwner(ctx, project, f.Filename, pageSigned, open); err != nil {
		return nil, "", err
	}
	// Core metadata: advertise it only when it can be verified.
	if f.CoreMetadata != nil {
		if h := f.CoreMetadata[updater.HashSHA256]; h != "" && pageSigned {
			// The page is signed, so the hash it gives vouches for the
			// metadata file as a signed target would.
			vf.Metadata = &updater.TargetInfo{Path: vf.Target.Path + ".metadata", Length: updater.UnknownLength, Hashes: map[string]string{updater.HashSHA256: h},
				Role: "page " + page.Path, SnapshotVersion: page.SnapshotVersion, Expires: page.Expires}
		} else if c.Site.DistsSigned() {
			ti, err := c.TUF.Target(ctx, vf.Target.Path+".metadata")
			if err == nil && len(ti.KnownHashes()) > 0 {
				vf.Metadata = &ti
			} else if err != nil && !errors.Is(err, updater.ErrNotSigned) {
				return nil, "", err
			}
		}
	}
	return vf, "", nil
}

// Open returns the verified, cached bytes of f, downloading them if
// needed.
func (c *Client) Open(ctx context.Context, f VerifiedFile) (*cache.Entry, error) {
	return FetchVerified(ctx, c.HTTP, c.Store, f.Target, f.URL)
}

// OpenMetadata returns the verified core metadata of f.
func (c *Client) OpenMetadata(ctx context.Context, f VerifiedFile) (*cache.Entry, error) {
	if f.Metadata == nil {
		return nil, fmt.Errorf("%s.metadata: %w", f.Filename, updater.ErrNotSigned)
	}
	limit := cmp.Or(c.MaxCoreMetadataBytes, DefaultMaxCoreMetadataBytes)
	ent, err := fetchVerified(ctx, c.HTTP, c.Store, *f.Metadata, f.MetadataURL(), limit)
	if errors.Is(err, cache.ErrTooLarge) {
		return nil, fmt.Errorf("core metadata of %s: %w (the limit for .metadata files is %d bytes); nothing was cached", f.Filename, err, limit)
	}
	return ent, err
}

// Projects returns upstream's project list. No layout signs it: it is
// served as a convenience and never claimed as verified.
func (c *Client) Projects(ctx context.Context) (*simple.ProjectList, error) {
	resp, err := httpx.GetStream(ctx, c.HTTP, c.Site.IndexURL.String(), 30*time.Second)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	max := c.MaxPageBytes
	if max <= 0 {
		max = simple.DefaultMaxPageBytes
	}
	return simple.ParseProjectListHTML(resp.Body, max)
}

// UpstreamUnreachable reports whether err means the repository could not
// be reached or failed on its side (a connection error, a timeout, a 5xx
// or 429 status), as opposed to answering with something that failed
// verification or does not exist.
func UpstreamUnreachable(err error) bool {
	var (
		me *updater.MetadataError
		mm *updater.MismatchError
		ne *updater.NetworkError
		hs *httpx.StatusError
	)
	switch {
	case errors.As(err, &me), errors.As(err, &mm), !errors.As(err, &ne):
		return false
	case errors.As(ne, &hs):
		return hs.StatusCode >= 500 || hs.StatusCode == http.StatusTooManyRequests
	}
	return true
}
