package multirepo

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tufpip/tufpip/index"
	"github.com/tufpip/tufpip/index/simple"
	"github.com/tufpip/tufpip/updater"
)

const (
	shaA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	shaB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

func ti(length int64, hashes ...string) updater.TargetInfo {
	h := map[string]string{}
	for i := 0; i+1 < len(hashes); i += 2 {
		h[hashes[i]] = hashes[i+1]
	}
	return updater.TargetInfo{Length: length, Hashes: h}
}

func lst(repo string, t updater.TargetInfo) listing {
	return listing{repo: repo, vf: index.VerifiedFile{File: simple.File{Filename: "pkg-1.0.tar.gz"}, Target: t}}
}

func mp(threshold int, repos ...string) Mapping {
	return Mapping{Index: 1, Paths: []string{"pkg"}, Repositories: repos, Threshold: threshold}
}

func TestDecide(t *testing.T) {
	a := ti(10, "sha256", shaA)
	tests := []struct {
		name     string
		m        Mapping
		ls       []listing
		served   string   // repository that serves the file; "" = omitted
		vouchers []string // Repositories of the kept file
		reason   []string // substrings of the omission's reason
	}{
		{"threshold met", mp(2, "mirror", "public"), []listing{lst("mirror", a), lst("public", a)}, "mirror", []string{"mirror", "public"}, nil},
		{"threshold 1 of 2, one lists it", mp(1, "mirror", "public"), []listing{lst("public", a)}, "public", []string{"public"}, nil},
		{"threshold 2 of 3, two agree one differs", mp(2, "a", "b", "c"), []listing{lst("a", a), lst("b", ti(10, "sha256", shaB)), lst("c", a)}, "a", []string{"a", "c"}, nil},
		{"fewer than threshold list it", mp(2, "mirror", "public"), []listing{lst("public", a)}, "", nil,
			[]string{"only public vouch(es) for it", "mapping 2 (pkg) needs 2 of mirror, public"}},
		{"hashes disagree", mp(2, "mirror", "public"), []listing{lst("mirror", a), lst("public", ti(10, "sha256", shaB))}, "", nil,
			[]string{"disagree", "mirror (10 bytes, sha256 aaaaaaaaaaaaaaaa…)", "public (10 bytes, sha256 bbbbbbbbbbbbbbbb…)", "needs 2 that agree"}},
		{"hash case does not matter", mp(2, "mirror", "public"), []listing{lst("mirror", a), lst("public", ti(10, "sha256", strings.ToUpper(shaA)))}, "mirror", []string{"mirror", "public"}, nil},
		{"lengths disagree", mp(2, "mirror", "public"), []listing{lst("mirror", a), lst("public", ti(11, "sha256", shaA))}, "", nil,
			[]string{"disagree", "mirror (10 bytes", "public (11 bytes"}},
		{"unknown length agrees on hashes", mp(2, "mirror", "public"), []listing{lst("mirror", a), lst("public", ti(updater.UnknownLength, "sha256", shaA))}, "mirror", []string{"mirror", "public"}, nil},
		{"no hash in common", mp(2, "mirror", "public"), []listing{lst("mirror", a), lst("public", ti(10, "sha512", shaB+shaB))}, "", nil,
			[]string{"disagree", "mirror (10 bytes, sha256", "public (10 bytes, sha512"}},
		{"only unsupported hash in common", mp(2, "mirror", "public"), []listing{lst("mirror", ti(10, "md5", "00")), lst("public", ti(10, "md5", "00"))}, "", nil,
			[]string{"disagree"}},
		{"one common hash differs, another agrees", mp(2, "mirror", "public"), []listing{lst("mirror", ti(10, "sha256", shaA, "sha512", shaA+shaA)), lst("public", ti(10, "sha256", shaA, "sha512", shaB+shaB))}, "", nil,
			[]string{"disagree"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vf, om := decide(tt.m, tt.m.String(), tt.ls)
			if tt.served == "" {
				if vf != nil || om == nil {
					t.Fatalf("kept %+v, want it omitted", vf)
				}
				if !om.Consensus || om.Filename != "pkg-1.0.tar.gz" {
					t.Errorf("omission %+v: want Consensus and the file name", om)
				}
				for _, s := range tt.reason {
					if !strings.Contains(om.Reason, s) {
						t.Errorf("reason %q lacks %q", om.Reason, s)
					}
				}
				return
			}
			if om != nil || vf == nil {
				t.Fatalf("omitted (%+v), want it kept", om)
			}
			if vf.Repository != tt.served || strings.Join(vf.Repositories, ",") != strings.Join(tt.vouchers, ",") {
				t.Errorf("served by %q vouched by %v, want %q %v", vf.Repository, vf.Repositories, tt.served, tt.vouchers)
			}
		})
	}
}

func TestDecideCoreMetadata(t *testing.T) {
	a := ti(10, "sha256", shaA)
	meta, other := ti(5, "sha256", shaA), ti(5, "sha256", shaB)
	with := func(repo string, md *updater.TargetInfo) listing {
		l := lst(repo, a)
		l.vf.Metadata = md
		return l
	}
	m := mp(2, "mirror", "public")
	if vf, _ := decide(m, m.String(), []listing{with("mirror", &meta), with("public", &meta)}); vf == nil || vf.Metadata == nil {
		t.Errorf("agreeing core metadata dropped: %+v", vf)
	}
	if vf, _ := decide(m, m.String(), []listing{with("mirror", &meta), with("public", &other)}); vf == nil || vf.Metadata != nil {
		t.Errorf("disagreeing core metadata advertised: %+v", vf)
	}
	if vf, _ := decide(m, m.String(), []listing{with("mirror", &meta), with("public", nil)}); vf == nil || vf.Metadata != nil {
		t.Errorf("core metadata one voucher lacks advertised: %+v", vf)
	}
}

func TestCombine(t *testing.T) {
	a, b := ti(10, "sha256", shaA), ti(10, "sha256", shaB)
	page := func(files ...index.VerifiedFile) *index.VerifiedPage {
		return &index.VerifiedPage{Name: "pkg", Files: files, Omitted: []index.Omission{{Filename: "x.whl", Reason: "not signed"}}}
	}
	file := func(name string, t updater.TargetInfo) index.VerifiedFile {
		return index.VerifiedFile{File: simple.File{Filename: name}, Target: t}
	}
	m := mp(2, "mirror", "public")
	vp := combine("pkg", m, []repoPage{
		{repo: "mirror", vp: page(file("pkg-1.0.tar.gz", a), file("pkg-2.0.tar.gz", a), file("only-mirror.tar.gz", a))},
		{repo: "public", vp: page(file("pkg-2.0.tar.gz", b), file("pkg-1.0.tar.gz", a), file("only-public.tar.gz", a))},
	})
	if vp.Mapping != 2 || strings.Join(vp.Repositories, ",") != "mirror,public" {
		t.Errorf("page from mapping %d, repositories %v", vp.Mapping, vp.Repositories)
	}
	if len(vp.Files) != 1 || vp.Files[0].Filename != "pkg-1.0.tar.gz" || strings.Join(vp.Files[0].Repositories, ",") != "mirror,public" {
		t.Fatalf("files %+v, want only pkg-1.0.tar.gz vouched by both", vp.Files)
	}
	reasons := map[string]string{}
	for _, o := range vp.Omitted {
		reasons[o.Filename] += o.Reason + "|"
	}
	for fn, want := range map[string]string{"pkg-2.0.tar.gz": "disagree", "only-mirror.tar.gz": "only mirror", "only-public.tar.gz": "only public", "x.whl": "mirror: not signed|public: not signed"} {
		if !strings.Contains(reasons[fn], want) {
			t.Errorf("%s omitted for %q, want %q", fn, reasons[fn], want)
		}
	}
}

func TestResolverPageUnmapped(t *testing.T) {
	m, err := Parse([]byte(`{"repositories": {"corp": []}, "mapping": [{"paths": ["corp-*"], "repositories": ["corp"], "threshold": 1, "terminating": true}]}`), registered)
	if err != nil {
		t.Fatal(err)
	}
	r := &Resolver{Map: m, Sources: map[string]*Source{}}
	_, err = r.Page(context.Background(), "Requests")
	var ue *UnmappedError
	if !errors.As(err, &ue) || !errors.Is(err, index.ErrProjectNotFound) || ue.Project != "requests" {
		t.Fatalf("err %v, want UnmappedError for requests", err)
	}
	// A mapped repository without a client fails its mapping, which is
	// terminating: the message says so.
	_, err = r.Page(context.Background(), "corp-auth")
	var nr *NotResolvedError
	if !errors.As(err, &nr) || !nr.Terminated || len(nr.Tried) != 1 {
		t.Fatalf("err %v, want NotResolvedError ending at the terminating mapping", err)
	}
	for _, s := range []string{"mapping 1 (corp-*): 0 of 1 needed repositories vouched", `corp: repository "corp" has no client`, "mapping 1 is terminating, so no other repository is asked"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("%q lacks %q", err.Error(), s)
		}
	}
	if _, err := r.Page(context.Background(), "not a name!"); err == nil {
		t.Error("invalid project name accepted")
	}
}
