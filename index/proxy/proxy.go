package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tufpip/tufpip/cache"
	"github.com/tufpip/tufpip/index"
	"github.com/tufpip/tufpip/index/multirepo"
	"github.com/tufpip/tufpip/index/packaging"
	"github.com/tufpip/tufpip/index/simple"
	"github.com/tufpip/tufpip/updater"
	"github.com/tufpip/tufpip/updater/httpx"
)

// Config configures the Simple API server.
type Config struct {
	Client *index.Client
	// Pages memoizes verified pages between pip's page and file requests.
	Pages *index.PageCache
	// Status, if set, supplies the TUF part of /-/status.
	Status func(ctx context.Context) (updater.Status, error)
	// BeforePage runs before a page is verified (the proxy with the
	// freshness window off uses it to refresh TUF metadata).
	BeforePage func(ctx context.Context) error
	// Hosts are the names and addresses, besides loopback ones, that
	// requests may carry in their Host header (see hostAllowed); each is
	// normalized with NormalizeHost. Requests for any other host are
	// refused with 421, so that a web page that rebinds its own DNS name
	// to this machine cannot read from the proxy.
	Hosts []string
	// RefusalTTL is how long a 5xx refusal of a page or file is answered
	// again from memory, without asking the repository; 0 means
	// DefaultRefusalTTL, negative disables it.
	RefusalTTL time.Duration
	Logger     *slog.Logger
	// Metrics, if set, are served at /-/metrics (with the TUF roles'
	// versions and expiries from Status, or each of Repositories); nil
	// makes a new set.
	Metrics *Metrics
	// Multi, if set, answers for projects from several repositories as a
	// TAP 4 map file says (index/multirepo); Client, Status and
	// BeforePage are then unused, and Repositories feeds /-/status.
	Multi        *multirepo.Resolver
	Repositories []Repository
	// Prefetch, if Enabled, verifies the pages of the projects a served
	// core metadata file or wheel requires, in the background, into Pages
	// (see index.Prefetcher); off in the zero Config.
	Prefetch PrefetchConfig
}

// PrefetchConfig configures dependency prefetch; zero limits mean the
// index.Prefetcher defaults.
type PrefetchConfig struct {
	Enabled    bool
	Workers    int
	PerRequest int
	Timeout    time.Duration
}

// Repository is one repository behind a proxy with a map file, as
// /-/status reports it.
type Repository struct {
	Name     string
	Layout   index.Layout
	IndexURL string
	Status   func(ctx context.Context) (updater.Status, error)
}

// Handler is a PEP 503/691 Simple API server that serves only pages and
// files it has verified with TUF. Files are verified into the cache
// before the first byte of a response is written.
type Handler struct {
	cfg      Config
	mux      *http.ServeMux
	started  time.Time
	hosts    map[string]bool
	refusals refusalMemo
	prefetch *index.Prefetcher

	pageHits, pageMisses atomic.Int64
	filesServed          atomic.Int64
	refused              atomic.Int64

	// vouched: with a map file, who vouched for the pages served last.
	vouchedMu sync.Mutex
	vouched   map[string]PageVouchers

	metricsHandler http.Handler
}

// PageVouchers says which repositories vouched for a project's page and
// for each of its files (with a map file).
type PageVouchers struct {
	Project      string              `json:"project"`
	Mapping      int                 `json:"mapping"`
	Repositories []string            `json:"repositories"`
	Files        map[string][]string `json:"files"`
	Left         map[string]string   `json:"left_out,omitempty"`
}

// maxVouched bounds the pages /-/status remembers.
const maxVouched = 1000

// New returns the proxy handler.
func New(cfg Config) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Pages == nil {
		cfg.Pages = &index.PageCache{TTL: time.Minute}
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics()
	}
	p := &Handler{cfg: cfg, mux: http.NewServeMux(), started: time.Now(), hosts: map[string]bool{}}
	for _, src := range p.trustSources() {
		if src.Status != nil {
			cfg.Metrics.reg.MustRegister(newTUFCollector(src.Name, src.Status, p.now))
		}
	}
	p.metricsHandler = newMetricsHandler(cfg.Metrics)
	for _, h := range cfg.Hosts {
		if n, err := NormalizeHost(h); err == nil {
			p.hosts[n] = true
		}
	}
	if cfg.Prefetch.Enabled {
		p.prefetch = &index.Prefetcher{Pages: cfg.Pages, Verify: p.verifyPage, Workers: cfg.Prefetch.Workers,
			PerRequest: cfg.Prefetch.PerRequest, Timeout: cfg.Prefetch.Timeout, Logger: cfg.Logger}
	}
	p.mux.HandleFunc("GET /{$}", p.serveHome)
	p.mux.HandleFunc("GET /simple/{$}", p.serveProjects)
	p.mux.HandleFunc("GET /simple/{project}", p.redirectProject)
	p.mux.HandleFunc("GET /simple/{project}/{$}", p.servePage)
	p.mux.HandleFunc("GET /files/{project}/{filename}", p.serveFile)
	p.mux.HandleFunc("GET /-/healthz", p.serveHealth)
	p.mux.HandleFunc("GET /-/status", p.serveStatus)
	p.mux.HandleFunc("GET /-/readyz", p.serveReady)
	p.mux.HandleFunc("GET /-/metrics", p.serveMetrics)
	return p
}

func (p *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cw := &codeWriter{ResponseWriter: w, code: http.StatusOK}
	route := p.serve(cw, r)
	p.cfg.Metrics.requests.WithLabelValues(route, strconv.Itoa(cw.code)).Inc()
}

// serve answers r and returns the route it took, for metrics: the mux's
// pattern, or what stopped the request before the mux.
func (p *Handler) serve(w http.ResponseWriter, r *http.Request) string {
	// Nothing the proxy answers is meant to be sniffed into another type.
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if !p.hostAllowed(r.Host) {
		p.refuseHost(w, r)
		return "misdirected"
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		p.cfg.Metrics.refusals.WithLabelValues(reasonMethod).Inc()
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "tufpip: method not allowed", http.StatusMethodNotAllowed)
		return "method"
	}
	p.mux.ServeHTTP(w, r)
	// ServeMux records the pattern it matched on r (a closed set).
	if r.Pattern == "" {
		return "unmatched"
	}
	_, route, _ := strings.Cut(r.Pattern, " ")
	return route
}

// codeWriter remembers the status written, for metrics.
type codeWriter struct {
	http.ResponseWriter
	code int
}

func (w *codeWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *codeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (p *Handler) serveHome(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/simple/", http.StatusFound)
}

func (p *Handler) redirectProject(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("project")
	if !packaging.ValidProjectName(name) {
		p.refuse(w, r, http.StatusNotFound, "", "invalid project name %q", name)
		return
	}
	http.Redirect(w, r, "/simple/"+packaging.NormalizeName(name)+"/", http.StatusMovedPermanently)
}

func (p *Handler) serveProjects(w http.ResponseWriter, r *http.Request) {
	projects := p.cfg.Client.Projects
	if p.cfg.Multi != nil {
		projects = p.cfg.Multi.Projects
	}
	pl, err := projects(r.Context())
	if err != nil {
		p.fail(w, r, "project list", err)
		return
	}
	ct, ok := simple.NegotiateContentType(r.Header.Get("Accept"))
	if !ok {
		p.notAcceptable(w, r)
		return
	}
	buf, err := render(pl, ct)
	if err != nil {
		p.fail(w, r, "project list", err)
		return
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Vary", "Accept")
	// No layout signs the project list: say so.
	w.Header().Set("X-Tufpip-Verified", "false")
	w.Write(buf.Bytes())
}

// page returns the verified page for name, memoized. stale says that
// upstream could not be reached and the page is the last one verified,
// served because the TUF metadata that vouched for it has not expired.
func (p *Handler) page(ctx context.Context, name string) (vp *index.VerifiedPage, stale bool, err error) {
	if vp, stale, ok := p.cfg.Pages.Memoized(name); ok {
		p.pageHits.Add(1)
		return vp, stale, nil
	}
	key := "page " + name
	if err := p.remembered(key); err != nil {
		return nil, false, err
	}
	defer func() {
		if err != nil {
			p.remember(ctx, key, err)
		}
	}()
	p.pageMisses.Add(1)
	// One verification per page at a time, shared with prefetches.
	return p.cfg.Pages.Do(ctx, name, p.verifyPage)
}

// verifyPage verifies name's page and memoizes it, falling back to the
// last verified page while upstream is unreachable.
func (p *Handler) verifyPage(ctx context.Context, name string) (vp *index.VerifiedPage, stale bool, err error) {
	if p.cfg.BeforePage != nil {
		err = p.cfg.BeforePage(ctx)
	}
	if p.cfg.Multi != nil {
		// Each repository stands on its own: no stale fallback across
		// a consensus (one failing repository fails only its mappings).
		if vp, err = p.cfg.Multi.Page(ctx, name); err != nil {
			return nil, false, err
		}
		p.recordVouchers(vp)
		p.cfg.Pages.Put(vp)
		return vp, false, nil
	}
	if err == nil {
		vp, err = p.cfg.Client.Page(ctx, name)
	}
	if err != nil {
		// Never when something failed verification: only when upstream
		// is down, and only what was verified and has not expired.
		if index.UpstreamUnreachable(err) {
			if vp, ok := p.cfg.Pages.Stale(name); ok {
				// Only what the metadata trusted now still signs: the
				// repository may have yanked or removed a release since.
				vp, serr := p.cfg.Client.StillSigned(ctx, vp, err)
				if serr != nil {
					return nil, false, serr
				}
				p.cfg.Logger.Warn("upstream unreachable; serving the last verified page", "project", name, "valid_until", vp.ValidUntil(), "err", err)
				// Memoized again, so that requests in the next TTL do
				// not each wait for upstream to fail.
				p.cfg.Pages.PutStale(vp)
				return vp, true, nil
			}
		}
		return nil, false, err
	}
	p.cfg.Pages.Put(vp)
	return vp, false, nil
}

func (p *Handler) servePage(w http.ResponseWriter, r *http.Request) {
	raw := r.PathValue("project")
	if !packaging.ValidProjectName(raw) {
		p.refuse(w, r, http.StatusNotFound, "", "invalid project name %q", raw)
		return
	}
	name := packaging.NormalizeName(raw)
	if name != raw {
		http.Redirect(w, r, "/simple/"+name+"/", http.StatusMovedPermanently)
		return
	}
	ct, ok := simple.NegotiateContentType(r.Header.Get("Accept"))
	if !ok {
		p.notAcceptable(w, r)
		return
	}
	vp, stale, err := p.page(r.Context(), name)
	if err != nil {
		p.fail(w, r, "project "+name, err)
		return
	}
	page := index.RenderablePage(vp, "../../files/"+url.PathEscape(name)+"/")
	buf, err := render(page, ct)
	if err != nil {
		p.fail(w, r, "index page of "+name, err)
		return
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Vary", "Accept")
	w.Header().Set("Cache-Control", "max-age=0, must-revalidate")
	verified := "true"
	if vp.PageTarget == nil {
		verified = "files-only"
	}
	w.Header().Set("X-Tufpip-Verified", verified)
	if stale {
		w.Header().Set("X-Tufpip-Stale", "upstream unreachable; last verified page, valid until "+vp.ValidUntil().UTC().Format(time.RFC3339))
	}
	w.Write(buf.Bytes())
}

func (p *Handler) serveFile(w http.ResponseWriter, r *http.Request) {
	project := r.PathValue("project")
	filename := r.PathValue("filename")
	if !packaging.ValidProjectName(project) || filename == "" || strings.ContainsAny(filename, "/\\\x00") {
		p.refuse(w, r, http.StatusNotFound, "", "invalid file path")
		return
	}
	name := packaging.NormalizeName(project)
	wantMeta := false
	base := filename
	if b, ok := strings.CutSuffix(filename, ".metadata"); ok {
		base, wantMeta = b, true
	}
	vp, _, err := p.page(r.Context(), name)
	if err != nil {
		p.fail(w, r, "project "+name, err)
		return
	}
	var vf *index.VerifiedFile
	for i := range vp.Files {
		if vp.Files[i].Filename == base {
			vf = &vp.Files[i]
			break
		}
	}
	if vf == nil && wantMeta {
		// A distribution whose own name ends in .metadata? Unlikely, but
		// look it up as a file before giving up.
		for i := range vp.Files {
			if vp.Files[i].Filename == filename {
				vf, wantMeta = &vp.Files[i], false
				break
			}
		}
	}
	if vf == nil {
		for _, o := range vp.Omitted {
			if o.Filename == base && (o.Foreign || o.Consensus) {
				p.refuse(w, r, http.StatusNotFound, "", "%s is not a verified file of %s: %s", filename, name, o.Reason)
				return
			}
		}
		p.refuse(w, r, http.StatusNotFound, "", "%s is not a verified file of %s", filename, name)
		return
	}
	open, openMeta := p.cfg.Client.Open, p.cfg.Client.OpenMetadata
	if p.cfg.Multi != nil {
		open, openMeta = p.cfg.Multi.Open, p.cfg.Multi.OpenMetadata
	}
	ti := vf.Target
	if wantMeta {
		if vf.Metadata == nil {
			p.refuse(w, r, http.StatusNotFound, "", "core metadata of %s cannot be verified", base)
			return
		}
		open, ti = openMeta, *vf.Metadata
	}
	key := "file " + name + "/" + filename
	if err := p.remembered(key); err != nil {
		p.fail(w, r, filename, err)
		return
	}
	ent, err := open(r.Context(), *vf)
	if err != nil {
		p.remember(r.Context(), key, err)
		p.fail(w, r, filename, err)
		return
	}
	defer ent.Close()
	p.filesServed.Add(1)
	if p.prefetch != nil && r.Method == http.MethodGet {
		// Verified bytes only: open verified them into the cache.
		if wantMeta {
			p.prefetch.FromMetadata(r.Context(), io.NewSectionReader(ent.File(), 0, ent.Size))
		} else if vf.Metadata == nil && strings.HasSuffix(filename, ".whl") {
			p.prefetch.FromWheel(r.Context(), ent.File(), ent.Size)
		}
	}
	alg := ti.KnownHashes()[0]
	if len(vf.Repositories) > 0 {
		p.cfg.Logger.Info("served verified file", "file", filename, "target", ti.Path, alg, ti.Hashes[alg], "bytes", ent.Size, "role", ti.Role, "snapshot", ti.SnapshotVersion,
			"project", name, "repositories", strings.Join(vf.Repositories, ","), "from", vf.Repository)
	} else {
		p.cfg.Logger.Info("served verified file", "file", filename, "target", ti.Path, alg, ti.Hashes[alg], "bytes", ent.Size, "role", ti.Role, "snapshot", ti.SnapshotVersion)
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("X-Tufpip-Verified", "true")
	if wantMeta {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	http.ServeContent(w, r, filename, ent.ModTime, ent.File())
}

func (p *Handler) serveHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "ok")
}

// Status is the JSON of /-/status.
type Status struct {
	TUF         *updater.Status `json:"tuf,omitempty"`
	TUFError    string          `json:"tuf_error,omitempty"`
	Layout      index.Layout    `json:"layout"`
	IndexURL    string          `json:"index_url"`
	CacheBytes  int64           `json:"cache_bytes"`
	PageHits    int64           `json:"page_cache_hits"`
	PageMisses  int64           `json:"page_cache_misses"`
	PageHitRate float64         `json:"page_cache_hit_rate"`
	FilesServed int64           `json:"files_served"`
	Refused     int64           `json:"refused"`
	// Prefetch counts dependency prefetches (nil when off).
	Prefetch *index.PrefetchStats `json:"prefetch,omitempty"`
	Uptime   string               `json:"uptime"`
	// With a map file: each repository's trusted state, and who vouched
	// for the pages served last.
	Repositories []RepositoryStatus `json:"repositories,omitempty"`
	Pages        []PageVouchers     `json:"pages,omitempty"`
}

// RepositoryStatus is one repository of a map file in /-/status.
type RepositoryStatus struct {
	Name     string          `json:"name"`
	Layout   index.Layout    `json:"layout"`
	IndexURL string          `json:"index_url"`
	TUF      *updater.Status `json:"tuf,omitempty"`
	TUFError string          `json:"tuf_error,omitempty"`
}

func (p *Handler) recordVouchers(vp *index.VerifiedPage) {
	pv := PageVouchers{Project: vp.Name, Mapping: vp.Mapping, Repositories: vp.Repositories, Files: map[string][]string{}}
	for _, f := range vp.Files {
		pv.Files[f.Filename] = f.Repositories
	}
	for _, o := range vp.Omitted {
		if o.Consensus {
			if pv.Left == nil {
				pv.Left = map[string]string{}
			}
			pv.Left[o.Filename] = httpx.SafeLine(o.Reason)
		}
	}
	p.vouchedMu.Lock()
	defer p.vouchedMu.Unlock()
	if p.vouched == nil {
		p.vouched = map[string]PageVouchers{}
	}
	if _, ok := p.vouched[vp.Name]; !ok && len(p.vouched) >= maxVouched {
		for k := range p.vouched {
			delete(p.vouched, k)
			break
		}
	}
	p.vouched[vp.Name] = pv
}

func (p *Handler) multiStatus(ctx context.Context, st *Status) {
	for _, repo := range p.cfg.Repositories {
		rs := RepositoryStatus{Name: repo.Name, Layout: repo.Layout, IndexURL: httpx.RedactURL(repo.IndexURL)}
		if repo.Status != nil {
			if ts, err := repo.Status(ctx); err != nil {
				rs.TUFError = httpx.SafeLine(err.Error())
			} else {
				rs.TUF = &ts
			}
		}
		st.Repositories = append(st.Repositories, rs)
	}
	p.vouchedMu.Lock()
	for _, pv := range p.vouched {
		st.Pages = append(st.Pages, pv)
	}
	p.vouchedMu.Unlock()
	slices.SortFunc(st.Pages, func(a, b PageVouchers) int { return strings.Compare(a.Project, b.Project) })
}

func (p *Handler) serveStatus(w http.ResponseWriter, r *http.Request) {
	st := Status{
		PageHits:    p.pageHits.Load(),
		PageMisses:  p.pageMisses.Load(),
		FilesServed: p.filesServed.Load(),
		Refused:     p.refused.Load(),
		Uptime:      time.Since(p.started).Round(time.Second).String(),
	}
	if p.prefetch != nil {
		ps := p.prefetch.Stats()
		st.Prefetch = &ps
	}
	if total := st.PageHits + st.PageMisses; total > 0 {
		st.PageHitRate = float64(st.PageHits) / float64(total)
	}
	if p.cfg.Multi != nil {
		st.Layout = "map"
		p.multiStatus(r.Context(), &st)
		for _, src := range p.cfg.Multi.Sources {
			// One artifact cache is shared by every repository.
			if src.Client != nil && src.Client.Store != nil {
				st.CacheBytes, _ = src.Client.Store.Size()
				break
			}
		}
	} else {
		st.Layout = p.cfg.Client.Site.Layout
		if p.cfg.Client.Site.IndexURL != nil {
			st.IndexURL = httpx.RedactedURL(p.cfg.Client.Site.IndexURL)
		}
		if p.cfg.Client.Store != nil {
			st.CacheBytes, _ = p.cfg.Client.Store.Size()
		}
		if p.cfg.Status != nil {
			if ts, err := p.cfg.Status(r.Context()); err != nil {
				st.TUFError = httpx.SafeLine(err.Error())
			} else {
				st.TUF = &ts
			}
		}
	}
	w.Header().Set("Vary", "Accept")
	// Browsers get a small page; everything else (curl, monitoring) JSON.
	if strings.Contains(r.Header.Get("Accept"), "text/html") {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := statusPage.Execute(w, st); err != nil {
			p.cfg.Logger.Warn("rendering status page", "err", err)
		}
		return
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(st)
}

var statusPage = template.Must(template.New("status").Funcs(template.FuncMap{
	"roles": func() []string { return []string{"root", "timestamp", "snapshot", "targets"} },
	"pct":   func(f float64) string { return fmt.Sprintf("%.0f%%", 100*f) },
	"when":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
}).Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>tufpip proxy status</title>
<style>body{font-family:sans-serif;margin:2em}td,th{padding:.2em 1em;text-align:left}th{background:#eee}</style></head>
<body><h1>tufpip proxy</h1>
<p>Index <code>{{.IndexURL}}</code>, layout <code>{{.Layout}}</code>, up {{.Uptime}}.</p>
{{with .TUF}}<h2>Trusted TUF metadata</h2>
<p>Refreshed {{when .RefreshedAt}} ({{.Source}}){{if .BinPrefix}}; {{.Bins}} hash bins <code>{{.BinPrefix}}-*</code>{{end}}.</p>
<table><tr><th>role</th><th>version</th><th>expires</th><th>keys</th></tr>
{{$r := .Roles}}{{range $name := roles}}{{with index $r $name}}<tr><td>{{$name}}</td><td>{{.Version}}</td><td>{{when .Expires}}</td><td>{{.Threshold}} of {{.Keys}}</td></tr>{{end}}{{end}}
</table>{{end}}
{{with .TUFError}}<p><strong>TUF metadata is not usable:</strong> {{.}}</p>{{end}}
{{range .Repositories}}<h2>Repository <code>{{.Name}}</code></h2>
<p>Index <code>{{.IndexURL}}</code>, layout <code>{{.Layout}}</code>.{{with .TUF}} Refreshed {{when .RefreshedAt}}; timestamp expires {{with index .Roles "timestamp"}}{{when .Expires}}{{end}}.{{end}}</p>
{{with .TUFError}}<p><strong>TUF metadata is not usable:</strong> {{.}}</p>{{end}}{{end}}
{{with .Pages}}<h2>Who vouched</h2>
<table><tr><th>project</th><th>mapping</th><th>page</th><th>files</th></tr>
{{range .}}<tr><td>{{.Project}}</td><td>{{.Mapping}}</td><td>{{range .Repositories}}{{.}} {{end}}</td><td>{{range $f, $r := .Files}}{{$f}}: {{range $r}}{{.}} {{end}}<br>{{end}}</td></tr>{{end}}
</table>{{end}}
<h2>Traffic</h2>
<table><tr><th>files served</th><td>{{.FilesServed}}</td></tr>
<tr><th>refused</th><td>{{.Refused}}</td></tr>
<tr><th>page cache hit rate</th><td>{{pct .PageHitRate}} ({{.PageHits}} hits, {{.PageMisses}} misses)</td></tr>
<tr><th>artifact cache</th><td>{{.CacheBytes}} bytes</td></tr></table>
<p>Machine-readable: <code>curl {{"/-/status"}}</code> (JSON).</p>
</body></html>
`))

func (p *Handler) notAcceptable(w http.ResponseWriter, r *http.Request) {
	p.refuse(w, r, http.StatusNotAcceptable, "", "none of the Accept types is served; use %s, %s or %s", simple.ContentTypeJSON, simple.ContentTypeHTML, simple.ContentTypeLegacyHTML)
}

// refuse answers with status and a body of one line of reason, and a
// second line "hint: ..." when hint (ours, what the operator can do) is
// not empty.
func (p *Handler) refuse(w http.ResponseWriter, r *http.Request, status int, hint, format string, a ...any) {
	p.refuseFor(statusReason(status), w, r, status, hint, format, a...)
}

// refuseFor is refuse, counting the refusal under reason (a constant).
func (p *Handler) refuseFor(reason string, w http.ResponseWriter, r *http.Request, status int, hint, format string, a ...any) {
	p.refused.Add(1)
	p.cfg.Metrics.refusals.WithLabelValues(reason).Inc()
	// The reason quotes the network (a server's words, unsigned page
	// content, file names) and URLs: pip prints the body, so it is
	// redacted and escaped. The log gets it redacted only: slog's text
	// handler, which cmd uses, escapes (quotes) what is not printable.
	raw := httpx.RedactText(fmt.Sprintf(format, a...))
	msg := httpx.EscapeLine(raw)
	if hint != "" {
		hint = httpx.RedactText(hint)
		raw += "\nhint: " + hint
		msg += "\nhint: " + httpx.EscapeLine(hint)
	}
	p.cfg.Logger.Warn("refused", "path", r.URL.Path, "status", status, "reason", raw)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	fmt.Fprintf(w, "tufpip: refused: %s\n", msg)
}

// fail maps an error to the status pip will report, with a body that
// says what failed.
func (p *Handler) fail(w http.ResponseWriter, r *http.Request, what string, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return // the client went away
	}
	status := StatusFor(err)
	reason := refusalReason(err)
	if index.UpstreamUnreachable(err) {
		p.refuseFor(reasonUnreachable, w, r, status, "", "%s: the repository is unreachable: %v", what, err)
		return
	}
	p.refuseFor(reason, w, r, status, "", "%s: %v", what, err)
}

// StatusFor is the HTTP status the proxy answers for err.
func StatusFor(err error) int {
	// An upstream 404 for something signed (a bin, a file) is the
	// repository failing us, not "no such project": 502, so pip does not
	// report a misleading "no matching distribution".
	var (
		me *updater.MetadataError
		mm *updater.MismatchError
		se *index.SupersededError
	)
	switch {
	case errors.As(err, &se):
		// The repository failed us and what we had no longer stands.
		return http.StatusServiceUnavailable
	case errors.Is(err, index.ErrProjectNotFound), errors.Is(err, updater.ErrNotSigned):
		return http.StatusNotFound
	case errors.Is(err, updater.ErrExpired):
		return http.StatusServiceUnavailable
	case errors.As(err, &me), errors.As(err, &mm):
		return http.StatusBadGateway
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	case errors.Is(err, cache.ErrCacheFull):
		// Our disk, not the repository: the operator must act.
		return http.StatusInsufficientStorage
	}
	return http.StatusBadGateway
}

// renderable is a page or the project list.
type renderable interface {
	RenderJSON(io.Writer) error
	RenderHTML(io.Writer) error
}

// render renders v in the negotiated content type ct (JSON or HTML).
func render(v renderable, ct string) (*bytes.Buffer, error) {
	var buf bytes.Buffer
	var err error
	if ct == simple.ContentTypeJSON {
		err = v.RenderJSON(&buf)
	} else {
		err = v.RenderHTML(&buf)
	}
	return &buf, err
}
