package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tufpip/tufpip/index"
	"github.com/tufpip/tufpip/index/proxy"
)

func (s *session) client() *index.Client {
	return &index.Client{Site: s.site, TUF: s.up, HTTP: s.http, Store: s.store, Logger: s.g.logger}
}

type proxyOptions struct {
	listen      string
	allowRemote bool
	hostnames   []string
	refusalTTL  time.Duration
	mapFile     string
	team        teamOptions
	prefetch    bool
	ready       func(url string) // tests learn the URL here
}

func newProxyCmd(g *globals) *cobra.Command {
	o := &proxyOptions{}
	cmd := &cobra.Command{
		Use:   "proxy",
		Short: "Serve a local Simple API index that pip and uv use; only verified pages and files",
		Long: `Run a PEP 503/691 Simple API server for pip and uv. Every project page is
verified with TUF before it is served (as the repository's layout
prescribes); every file is downloaded, checked against its signed length
and hashes into the cache, and only then served. Anything that fails is
refused with an HTTP error and a message pip shows; files the repository
does not sign are left out of pages.

Point pip or uv at it:
  pip install --index-url http://127.0.0.1:8458/simple/ PKG
  PIP_INDEX_URL=http://127.0.0.1:8458/simple/ pip install PKG
  UV_INDEX_URL=http://127.0.0.1:8458/simple/ uv pip install PKG

When the repository cannot be reached, a page verified earlier is served
again (marked X-Tufpip-Stale) only while the metadata trusted now still
signs exactly that page; after a yank or removal it is refused (503). A
request refused with a 5xx status is answered with the same refusal for
--remember-refusals, so that pip's and uv's retries do not each ask the
repository again. pip does not show the proxy's reason: this log does
(level=WARN msg=refused ... reason=...), and so does curl on the URL.

The proxy answers only requests addressed to it by a loopback name
(localhost, 127.0.0.1, [::1]), its --listen address, or a --hostname:
a web page that points its own DNS name at this machine (DNS rebinding)
gets 421 Misdirected Request. With --allow-remote, list the names and
addresses clients use:
  tufpip proxy --listen 0.0.0.0:8458 --allow-remote --hostname tufpip.internal,10.0.0.5

Several repositories behind one index (TAP 4): --map FILE names
repositories registered with "tufpip init" and says, per pattern of PEP
503 normalized project names (path.Match globs: corp-*, *), which of them
must vouch for a project, how many must agree on each file's length and
hashes, and whether the search stops there ("terminating": a name the
internal repository claims is never looked up anywhere else). The first
matching mapping decides; a project no mapping matches gets 404. This one
index replaces pip's --extra-index-url, which takes the highest version
from any index (dependency confusion):
  tufpip proxy --map /etc/tufpip/map.json
/-/status and the log then say which repositories vouched for each page
and file. With --map there is no stale fallback: a page is served only
as its repositories sign it now, so a repository that cannot be reached
fails the projects its mappings need. See docs/multirepo.md.

With --prefetch (on by default), when the proxy has verified a file's
core metadata (.metadata) or a wheel, it verifies the pages of the
projects that file requires (Requires-Dist, every marker) in the
background, a few at a time, so that pip's next page requests find them
ready. A prefetched page goes through the same checks as a requested
one; one that fails is dropped (logged at debug level) and checked again
when pip asks. --prefetch=false turns it off.

/-/status reports the trusted TUF versions and expiries, cache size and
hit rate, and what the prefetch did; /-/healthz answers "ok" while the
process runs; /-/readyz answers 200 only while trusted metadata is loaded
and unexpired (for load balancers); /-/metrics is Prometheus text. SIGINT or SIGTERM stops it after
in-flight requests finish.

For a team (docs/team.md): several replicas share verified files through
an S3 bucket, each verifying every object again before serving it, and
TLS lets pip on other machines use https:// without --trusted-host:
  tufpip proxy --listen 0.0.0.0:8443 --allow-remote --hostname proxy.corp \
    --tls-cert /etc/tufpip/proxy.pem --tls-key /etc/tufpip/proxy.key \
    --store s3://tufpip-artifacts/pypi --store-endpoint https://s3.corp --store-path-style
The certificate is reloaded when its files change or on SIGHUP.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runProxy(cmd.Context(), g, o)
		},
	}
	cmd.Flags().StringVarP(&o.listen, "listen", "l", "127.0.0.1:8458", "address to listen on")
	cmd.Flags().BoolVar(&o.allowRemote, "allow-remote", false, "allow listening on a non-loopback address (anyone who can reach it can use your cache)")
	cmd.Flags().StringSliceVar(&o.hostnames, "hostname", nil, "a host name or IP address clients reach the proxy by, besides loopback and --listen (repeatable or comma-separated; other Host headers get 421)")
	cmd.Flags().StringVar(&o.mapFile, "map", "", mapFlagHelp+"; with a map no page is served stale when a repository cannot be reached")
	cmd.Flags().BoolVar(&o.prefetch, "prefetch", true, "verify the pages of the projects a served .metadata or wheel requires in the background, before pip asks")
	cmd.Flags().DurationVar(&o.refusalTTL, "remember-refusals", proxy.DefaultRefusalTTL, "answer a request refused with a 5xx status from memory for this long, without asking the repository (pip and uv retry 5xx); 0 disables")
	addTeamFlags(cmd, &o.team)
	return cmd
}

// runProxy: check the flags, open the session and refresh once, then
// serve until ctx ends.
func runProxy(ctx context.Context, g *globals, o *proxyOptions) error {
	hosts, err := checkProxyFlags(o)
	if err != nil {
		return err
	}
	if err := checkTeamFlags(&o.team); err != nil {
		return err
	}
	if !g.verbose && !g.quiet {
		// One line per served file is part of what the proxy promises.
		g.logger = newLogger(g.stderr, slog.LevelInfo)
	}
	metrics := proxy.NewMetrics()
	remote, err := openRemote(ctx, g, &o.team)
	if err != nil {
		return err
	}
	if remote != nil {
		g.storeRemote = remote
	}
	g.storeObserver = metrics
	if o.mapFile != "" {
		return runMapProxy(ctx, g, o, hosts, metrics)
	}
	s, err := g.openSession(ctx)
	if err != nil {
		return err
	}
	s.http.Transport = metrics.Transport(s.http.Transport)
	if s.site.IndexURL == nil {
		return usagef("repository %q has no index URL (--index-url)", s.rc.Name)
	}
	// Refresh once up front: a repository that fails verification should
	// stop the proxy from starting, not surprise the first pip.
	if err := s.up.Refresh(ctx); err != nil {
		return fmt.Errorf("initial TUF refresh: %w", err)
	}
	window, _ := g.freshness()
	pcfg := proxyConfig(window, g.refresh, o.refusalTTL, s.up.Refresh)
	pcfg.Client, pcfg.Status, pcfg.Hosts, pcfg.Logger = s.client(), s.up.Status, hosts, g.logger
	pcfg.Metrics = metrics
	pcfg.Prefetch.Enabled = o.prefetch
	return serveProxy(ctx, g, fmt.Sprintf("%q (%s layout)", s.rc.Name, s.rc.Layout), o, pcfg)
}

// runMapProxy is runProxy with a map file: one session per repository,
// each refreshed once up front; one that fails is reported and fails
// only the projects mapped to it.
func runMapProxy(ctx context.Context, g *globals, o *proxyOptions, hosts []string, metrics *proxy.Metrics) error {
	ms, err := g.openMapSessions(ctx, o.mapFile)
	if err != nil {
		return err
	}
	for _, s := range ms.sessions {
		s.http.Transport = metrics.Transport(s.http.Transport)
	}
	err = ms.refreshAll(ctx, func(name string, err error) {
		g.logger.Warn("initial TUF refresh failed; projects mapped only to this repository will be refused", "repository", name, "err", err)
	})
	if err != nil {
		return err
	}
	window, _ := g.freshness()
	pcfg := proxyConfig(window, g.refresh, o.refusalTTL, nil)
	pcfg.Multi = ms.resolver(g, window == 0 || g.refresh)
	pcfg.BeforePage = nil
	for _, name := range ms.m.Repositories {
		s := ms.sessions[name]
		pcfg.Repositories = append(pcfg.Repositories, proxy.Repository{Name: name, Layout: s.site.Layout, IndexURL: s.rc.IndexURL, Status: s.up.Status})
	}
	pcfg.Hosts, pcfg.Logger, pcfg.Metrics = hosts, g.logger, metrics
	pcfg.Prefetch.Enabled = o.prefetch
	return serveProxy(ctx, g, fmt.Sprintf("map %s (repositories %s)", o.mapFile, ms.names()), o, pcfg)
}

// checkProxyFlags refuses a --listen address that is not loopback
// (unless --allow-remote), a bad --hostname or --remember-refusals, and
// returns the hosts requests may name.
func checkProxyFlags(o *proxyOptions) ([]string, error) {
	host, _, err := net.SplitHostPort(o.listen)
	if err != nil {
		return nil, usagef("invalid --listen %q: %v", o.listen, err)
	}
	if ip := net.ParseIP(host); !o.allowRemote && host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, usagef("refusing to listen on %s: not a loopback address", o.listen).withHint("pass --allow-remote if you mean it")
	}
	hosts, err := proxyHosts(host, o.hostnames)
	if err != nil {
		return nil, err
	}
	if o.refusalTTL < 0 {
		return nil, usagef("invalid --remember-refusals %s: want a duration such as 10s, or 0", o.refusalTTL)
	}
	return hosts, nil
}

// proxyConfig decides the proxy's memories: pages are memoized for the
// freshness window, at most a minute; refusals for --remember-refusals
// (0 turns the memo off); with the window off or --refresh, TUF metadata
// is refreshed (refreshMetadata) before every page.
func proxyConfig(window time.Duration, refresh bool, refusalTTL time.Duration, refreshMetadata func(context.Context) error) proxy.Config {
	pcfg := proxy.Config{Pages: &index.PageCache{TTL: min(window, time.Minute)}, RefusalTTL: refusalTTL}
	if refusalTTL == 0 {
		pcfg.RefusalTTL = -1
	}
	if window == 0 || refresh {
		pcfg.BeforePage = refreshMetadata
	}
	return pcfg
}

// serveProxy listens, prints where to point pip, and serves until ctx
// ends, then shuts down gracefully.
func serveProxy(ctx context.Context, g *globals, what string, o *proxyOptions, pcfg proxy.Config) error {
	tlsConfig, err := serverTLS(ctx, g, &o.team)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", o.listen, err)
	}
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
	}
	srv := &http.Server{
		Handler:           logRequests(g, proxy.New(pcfg)),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		TLSConfig:         tlsConfig,
	}
	url := o.team.scheme() + "://" + ln.Addr().String() + "/simple/"
	if !g.quiet {
		out := g.stderr
		fmt.Fprintf(out, "tufpip proxy for %s serving verified files at %s\n\n", what, url)
		fmt.Fprintf(out, "  pip install --index-url %s PKG\n", url)
		fmt.Fprintf(out, "  export PIP_INDEX_URL=%s\n", url)
		fmt.Fprintf(out, "  export UV_INDEX_URL=%s\n\n", url)
		fmt.Fprintf(out, "status: %s   stop: Ctrl-C\n", strings.TrimSuffix(url, "simple/")+"-/status")
	}
	if o.ready != nil {
		o.ready(url)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutting down: %w", err)
	}
	if !g.quiet {
		fmt.Fprintln(g.stderr, "tufpip proxy stopped")
	}
	return nil
}

// proxyHosts lists the hosts, besides loopback names, that requests may
// name in their Host header: every --hostname, and those the --listen
// host stands for (proxy.ListenHosts). What is cmd's here is the flag:
// a --hostname that is no host is a usage error, with a hint.
func proxyHosts(listenHost string, hostnames []string) ([]string, error) {
	var hosts []string
	for _, h := range hostnames {
		n, err := proxy.NormalizeHost(h)
		if err != nil {
			return nil, usagef("invalid --hostname: %v", err).withHint("give a name such as tufpip.internal or an address such as 10.0.0.5, without a port")
		}
		hosts = append(hosts, n)
	}
	listen, err := proxy.ListenHosts(listenHost)
	if err != nil {
		return nil, fmt.Errorf("listing this machine's addresses for --listen %s: %w", listenHost, err)
	}
	return append(hosts, listen...), nil
}

// logRequests logs one line per request at debug level.
func logRequests(g *globals, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: 200}
		h.ServeHTTP(sw, r)
		g.logger.Debug("request", "method", r.Method, "path", r.URL.Path, "status", sw.status, "duration", time.Since(start).Round(time.Microsecond))
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}
