package integration

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/tufpip/tufpip/integration/repogen"
	"github.com/tufpip/tufpip/integration/testenv"
)

// ---- a real S3 server: Versity S3 Gateway on a posix directory -------------

type s3Server struct {
	Endpoint string
	Dir      string // the posix backend: Dir/BUCKET/KEY
	Bucket   string
	Client   *s3.Client
}

const (
	s3Access = "tufpip-test-access"
	s3Secret = "tufpip-test-secret-key-0123456789"
)

// startVersity starts versitygw on a free 127.0.0.1 port with a new
// bucket; it is stopped when the test ends.
func startVersity(t *testing.T) *s3Server {
	t.Helper()
	bin, err := exec.LookPath("versitygw")
	if err != nil {
		home, _ := os.UserHomeDir()
		bin = filepath.Join(home, "go", "bin", "versitygw")
		if _, err := os.Stat(bin); err != nil {
			testenv.MissingPrerequisite(t, "versitygw is not installed (go install github.com/versity/versitygw/cmd/versitygw@v1.8.0)")
		}
	}
	dir := t.TempDir()
	addr := freeAddr(t)
	cmd := exec.Command(bin, "--port", addr, "posix", dir)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID="+s3Access, "ROOT_SECRET_ACCESS_KEY="+s3Secret)
	var log syncBuffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("versitygw log:\n%s", log.String())
		}
	})
	srv := &s3Server{Endpoint: "http://" + addr, Dir: dir, Bucket: "tufpip-artifacts"}
	srv.Client = s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(s3Access, s3Secret, ""),
	})
	waitListening(t, addr, "versitygw", &log)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := srv.Client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(srv.Bucket)}); err != nil {
		t.Fatalf("creating the bucket: %v\n%s", err, log.String())
	}
	return srv
}

// env is what a proxy needs to reach the bucket: the standard AWS
// variables, and nothing from this machine's ~/.aws.
func (s *s3Server) env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + s3Access, "AWS_SECRET_ACCESS_KEY=" + s3Secret, "AWS_REGION=us-east-1",
		"AWS_ENDPOINT_URL=" + s.Endpoint, "AWS_CONFIG_FILE=" + os.DevNull, "AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

func (s *s3Server) storeArgs(prefix string) []string {
	return []string{"--store", "s3://" + s.Bucket + "/" + prefix, "--store-path-style"}
}

// objectPath is where the posix backend keeps the object of file.
func (s *s3Server) objectPath(prefix string, f repogen.FileInfo) string {
	b2 := f.Hashes["blake2b-256"]
	return filepath.Join(s.Dir, s.Bucket, prefix, "blake2b-256", b2[:2], b2)
}

func (s *s3Server) getObject(t *testing.T, key string) ([]byte, error) {
	t.Helper()
	out, err := s.Client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(key)})
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitListening(t *testing.T, addr, what string, log *syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not listen on %s within 30s:\n%s", what, addr, log.String())
}

// fileCountingRepo serves tr again, counting requests for distribution
// files (/packages/...), and returns a testRepo whose URL is it.
func fileCountingRepo(t *testing.T, tr *testRepo) (*testRepo, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	inner := repogen.NewHandler(tr.Dir())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/packages/") {
			n.Add(1)
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return &testRepo{Repo: tr.Repo, Layout: tr.Layout, URL: srv.URL, legit: tr.legit}, &n
}

// scrape parses a proxy's /-/metrics with the Prometheus text parser.
func scrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(base + "/-/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/-/metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mf, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing /-/metrics: %v", err)
	}
	return mf
}

// metricValue is the value of the series of family name whose labels
// include all of labels (name=value pairs); -1 when there is none.
func metricValue(mf map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f := mf[name]
	if f == nil {
		return -1
	}
	total, found := 0.0, false
next:
	for _, m := range f.Metric {
		for i := 0; i+1 < len(labels); i += 2 {
			ok := false
			for _, lp := range m.Label {
				if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
					ok = true
				}
			}
			if !ok {
				continue next
			}
		}
		found = true
		switch {
		case m.Counter != nil:
			total += m.Counter.GetValue()
		case m.Gauge != nil:
			total += m.Gauge.GetValue()
		case m.Histogram != nil:
			total += float64(m.Histogram.GetSampleCount())
		}
	}
	if !found {
		return -1
	}
	return total
}

// ---- replicas sharing one store --------------------------------------------

// TestTeamReplicasShareStore: replica A's install fills the bucket;
// replica B (own home, own TUF state) installs with no upstream file
// download; an object tampered in the bucket is refused by replica C,
// never served, deleted and healed from upstream, with a log line.
func TestTeamReplicasShareStore(t *testing.T) {
	py := requirePython(t)
	s3srv := startVersity(t)
	base := newRepo(t, repogen.IndexLayoutPEP458, appAndLib())
	tr, files := fileCountingRepo(t, base)
	store := s3srv.storeArgs("team")
	want := map[string]string{"app": "1.0", "lib": "1.1"}

	a := startProxy(t, tr, proxyOptions{args: store, env: s3srv.env()})
	assertInstalled(t, py, mustPipInstall(t, py, a.URL, "app"), want)
	// Two wheels and their PEP 658 core metadata files.
	if n := files.Load(); n != 4 {
		t.Fatalf("replica A downloaded %d files from upstream, want 4 (app, lib and their .metadata)", n)
	}
	lib := tr.file(t, "lib", "1.1", "wheel")
	app := tr.file(t, "app", "1.0", "wheel")
	for _, f := range []repogen.FileInfo{lib, app} {
		got, err := os.ReadFile(s3srv.objectPath("team", f))
		if err != nil {
			t.Fatalf("replica A did not upload %s to the bucket: %v", f.Filename, err)
		}
		if !tr.isLegit(got) {
			t.Fatalf("the bucket holds other bytes than the signed %s", f.Filename)
		}
	}

	files.Store(0)
	b := startProxy(t, tr, proxyOptions{args: store, env: s3srv.env()})
	before := scrape(t, b.Base)
	assertInstalled(t, py, mustPipInstall(t, py, b.URL, "app"), want)
	if n := files.Load(); n != 0 {
		t.Errorf("replica B downloaded %d files from upstream, want 0 (all from the store)", n)
	}
	after := scrape(t, b.Base)
	if d := metricValue(after, "tufpip_store_events_total", "event", "hit") - metricValue(before, "tufpip_store_events_total", "event", "hit"); d != 4 {
		t.Errorf("replica B's store hits moved by %v, want 4", d)
	}
	if v := metricValue(after, "tufpip_verified_bytes_total", "source", "store", "result", "ok"); v <= float64(lib.Length+app.Length) {
		t.Errorf("replica B verified %v bytes from the store, want more than the wheels' %d", v, lib.Length+app.Length)
	}
	if v := metricValue(after, "tufpip_http_requests_total", "route", "/files/{project}/{filename}", "code", "200"); v != 4 {
		t.Errorf("replica B served %v files with 200, want 4", v)
	}
	if v := metricValue(after, "tufpip_tuf_expires_in_seconds", "role", "timestamp"); v <= 0 {
		t.Errorf("timestamp expires in %v s, want > 0", v)
	}

	// Tamper: same length, other bytes, straight into the backend.
	obj := s3srv.objectPath("team", lib)
	bad := bytes.Repeat([]byte{'X'}, int(lib.Length))
	if err := os.WriteFile(obj, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	files.Store(0)
	c := startProxy(t, tr, proxyOptions{args: store, env: s3srv.env()})
	target := mustPipInstall(t, py, c.URL, "app")
	assertInstalled(t, py, target, want)
	assertCacheVerified(t, c.Home, tr)
	if n := files.Load(); n != 1 {
		t.Errorf("replica C downloaded %d files from upstream, want 1 (the tampered lib)", n)
	}
	if !strings.Contains(c.Log(), "artifact store object failed verification; deleting it and downloading from upstream") {
		t.Errorf("replica C did not log the bad object:\n%s", c.Log())
	}
	mc := scrape(t, c.Base)
	if v := metricValue(mc, "tufpip_store_events_total", "event", "verify_failed"); v != 1 {
		t.Errorf("replica C counted %v re-verification failures, want 1", v)
	}
	healed, err := s3srv.getObject(t, "team/blake2b-256/"+lib.Hashes["blake2b-256"][:2]+"/"+lib.Hashes["blake2b-256"])
	if err != nil || !tr.isLegit(healed) {
		t.Errorf("the bucket was not healed with the signed bytes (err %v)", err)
	}
}

// TestTeamStoreUnreachable: a --store that cannot be reached stops the
// proxy at start, with a hint.
func TestTeamStoreUnreachable(t *testing.T) {
	tr := newRepo(t, repogen.IndexLayoutPEP458, appAndLib())
	env := []string{"AWS_ACCESS_KEY_ID=x", "AWS_SECRET_ACCESS_KEY=y", "AWS_REGION=us-east-1", "AWS_CONFIG_FILE=" + os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull, "AWS_EC2_METADATA_DISABLED=true", "AWS_MAX_ATTEMPTS=1"}
	_, err := launchProxy(t, tr, proxyOptions{args: []string{"--store", "s3://nobucket/x", "--store-endpoint", "http://" + freeAddr(t), "--store-path-style"}, env: env})
	if err == nil {
		t.Fatal("the proxy started with an unreachable store")
	}
	for _, s := range []string{"tufpip: artifact store: checking bucket s3://nobucket/x", "hint: check the bucket exists"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("output lacks %q:\n%v", s, err)
		}
	}
}

// ---- nginx in front of two replicas ----------------------------------------

func nginxBin(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/sbin/nginx", "nginx"} {
		if bin, err := exec.LookPath(p); err == nil {
			return bin
		}
	}
	testenv.MissingPrerequisite(t, "nginx is not installed (apt-get install nginx-light or nginx)")
	return ""
}

// nginxConf is the load balancer of docs/team.md, with the test's
// ports and a temp prefix.
func nginxConf(listen string, replicas []string) string {
	var servers strings.Builder
	for _, r := range replicas {
		fmt.Fprintf(&servers, "        server %s max_fails=1 fail_timeout=30s;\n", r)
	}
	return `worker_processes 1;
pid nginx.pid;
error_log error.log warn;
events { worker_connections 256; }
http {
    access_log access.log;
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
    upstream tufpip {
` + servers.String() + `        keepalive 16;
    }
    server {
        listen ` + listen + `;
        location / {
            proxy_pass http://tufpip;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_next_upstream error timeout http_502 http_503 http_504;
            proxy_next_upstream_tries 3;
            proxy_connect_timeout 2s;
            proxy_read_timeout 120s;
            proxy_buffering off;
        }
    }
}
`
}

func startNginx(t *testing.T, replicas []string) string {
	t.Helper()
	bin := nginxBin(t)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "tmp"), 0o755)
	listen := freeAddr(t)
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(nginxConf(listen, replicas)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir+"/", "-c", conf, "-g", "daemon off;")
	var log syncBuffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGQUIT)
		cmd.Wait()
		if t.Failed() {
			el, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx output:\n%s\nerror.log:\n%s", log.String(), el)
		}
	})
	waitListening(t, listen, "nginx", &log)
	return "http://" + listen
}

// TestTeamNginxReplicas: 8 concurrent pips through nginx balancing two
// replicas that share a store; one replica is killed mid-run and every
// install still succeeds (proxy_next_upstream).
func TestTeamNginxReplicas(t *testing.T) {
	py := requirePython(t)
	s3srv := startVersity(t)
	tr := newRepo(t, repogen.IndexLayoutPEP458, appAndLib())
	store := s3srv.storeArgs("lb")
	a := startProxy(t, tr, proxyOptions{args: store, env: s3srv.env()})
	b := startProxy(t, tr, proxyOptions{args: store, env: s3srv.env()})
	lb := startNginx(t, []string{strings.TrimPrefix(a.Base, "http://"), strings.TrimPrefix(b.Base, "http://")})

	want := map[string]string{"app": "1.0", "lib": "1.1"}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	targets := make([]string, 8)
	outs := make([]string, 8)
	started := make(chan struct{}, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			started <- struct{}{}
			targets[i], outs[i], errs[i] = pipInstall(t, py, lb+"/simple/", "app")
		}()
	}
	for range 8 {
		<-started
	}
	// Mid-run: once replica B has served its first file, while the
	// other installs are still asking for theirs.
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(b.Log(), "served verified file") {
		if time.Now().After(deadline) {
			t.Fatalf("replica B served no file within 60s; nginx did not balance:\n%s", b.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Killed, not stopped: the worst case for a load balancer.
	b.stopped = true
	b.cmd.Process.Kill()
	<-b.done
	wg.Wait()
	for i := range 8 {
		if errs[i] != nil {
			t.Errorf("pip %d through nginx failed with a replica killed: %v\n%s", i, errs[i], outs[i])
			continue
		}
		assertInstalled(t, py, targets[i], want)
	}
	assertCacheVerified(t, a.Home, tr)
	if !strings.Contains(a.Log(), "served verified file") {
		t.Errorf("the surviving replica served nothing:\n%s", a.Log())
	}
}

// ---- TLS -------------------------------------------------------------------

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tufpip test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue writes a server certificate for 127.0.0.1 with serial to
// certFile and keyFile.
func (ca *testCA) issue(t *testing.T, serial int64, certFile, keyFile string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "proxy.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	// Key first: a handshake between the writes must not pair a new
	// certificate with an old key (the proxy would keep the old pair).
	if err := os.WriteFile(keyFile+".new", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile+".new", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Rename(keyFile+".new", keyFile)
	os.Rename(certFile+".new", certFile)
}

func servedSerial(t *testing.T, addr string, pool *x509.CertPool) int64 {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("TLS handshake with the proxy: %v", err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

// TestTeamTLS: pip with --cert pointing at a test CA installs over https;
// after the certificate files are replaced and SIGHUP sent, the proxy
// serves the new certificate; /-/readyz and /-/healthz answer over TLS.
func TestTeamTLS(t *testing.T) {
	py := requirePython(t)
	tr := newRepo(t, repogen.IndexLayoutPEP458, appAndLib())
	ca := newTestCA(t)
	dir := t.TempDir()
	certFile, keyFile, caFile := filepath.Join(dir, "proxy.pem"), filepath.Join(dir, "proxy.key"), filepath.Join(dir, "ca.pem")
	ca.issue(t, 100, certFile, keyFile)
	os.WriteFile(caFile, ca.pem, 0o644)
	p := startProxy(t, tr, proxyOptions{args: []string{"--tls-cert", certFile, "--tls-key", keyFile}})
	if !strings.HasPrefix(p.URL, "https://") {
		t.Fatalf("the proxy announced %s, want https", p.URL)
	}
	target := mustPipInstall(t, py, p.URL, "--cert", caFile, "app")
	assertInstalled(t, py, target, map[string]string{"app": "1.0", "lib": "1.1"})

	// Without the CA, pip refuses the certificate: nothing installed.
	target, out, err := pipInstall(t, py, p.URL, "app")
	if err == nil || !strings.Contains(out, "CERTIFICATE_VERIFY_FAILED") {
		t.Errorf("pip without the CA: err %v, want a certificate failure:\n%s", err, out)
	}
	assertNothingInstalled(t, target)

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.pem)
	addr := strings.TrimPrefix(p.Base, "https://")
	if s := servedSerial(t, addr, pool); s != 100 {
		t.Fatalf("served certificate serial %d, want 100", s)
	}
	ca.issue(t, 200, certFile, keyFile)
	p.cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(10 * time.Second)
	for servedSerial(t, addr, pool) != 200 {
		if time.Now().After(deadline) {
			t.Fatalf("the proxy still serves the old certificate 10s after SIGHUP:\n%s", p.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The proxy logs the reload after swapping the certificate, and the
	// log reaches the test through a pipe: wait for it too.
	for !strings.Contains(p.Log(), "reloaded the TLS certificate") {
		if time.Now().After(deadline) {
			t.Fatalf("no log line for the reload:\n%s", p.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	for path, want := range map[string]string{"/-/readyz": "ready\n", "/-/healthz": "ok\n"} {
		resp, err := hc.Get(p.Base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != want {
			t.Errorf("%s: %s %q, want 200 %q", path, resp.Status, body, want)
		}
	}
}
