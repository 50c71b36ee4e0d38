package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/tufpip/tufpip/integration/repogen"
)

// TestMain lets testscript run this test binary as the tufpip command, in
// its own process, exactly as users run it.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"tufpip": func() { os.Exit(Main(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs testdata/script/*.txt. Each script gets a private
// TUFPIP_HOME and these extra commands:
//
//	testrepo NAME [projects=N] [bits=B] [layout=L] [hashes=a,b] [keytype=K]
//	    generate a repository in $WORK/NAME, serve it on 127.0.0.1 and set
//	    $NAME_URL, $NAME_HOST (its host:port), $NAME_DIR, $NAME_WHEEL (a wheel's target path),
//	    $NAME_WHEEL_FILE (its file name), $NAME_ROOT (trusted-root.json)
//	mutate NAME MUTATION [ARGS...]
//	    apply a generator mutation (as "tufpip testrepo mutate" does)
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("TUFPIP_HOME", filepath.Join(env.WorkDir, "home"))
			env.Setenv("NO_COLOR", "1")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"testrepo": cmdTestRepo,
			"mutate":   cmdMutate,
		},
	})
}

func cmdTestRepo(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 {
		ts.Fatalf("usage: testrepo NAME [key=value...]")
	}
	name := args[0]
	o := repogen.Options{Dir: ts.MkAbs(name), BitLength: 4}
	projects := 3
	for _, kv := range args[1:] {
		k, v, _ := strings.Cut(kv, "=")
		var err error
		switch k {
		case "projects":
			projects, err = strconv.Atoi(v)
		case "bits":
			o.BitLength, err = strconv.Atoi(v)
		case "layout":
			o.IndexLayout = v
		case "hashes":
			o.Hashes = strings.Split(v, ",")
		case "keytype":
			o.KeyType = v
		default:
			err = fmt.Errorf("unknown option %q", k)
		}
		ts.Check(err)
	}
	r, err := repogen.Generate(o, repogen.SyntheticProjects(projects))
	ts.Check(err)
	srv := httptest.NewServer(repogen.NewHandler(r.Dir()))
	ts.Defer(srv.Close)
	up := strings.ToUpper(name)
	ts.Setenv(up+"_URL", srv.URL)
	ts.Setenv(up+"_HOST", strings.TrimPrefix(srv.URL, "http://"))
	ts.Setenv(up+"_DIR", r.Dir())
	for _, f := range r.Files() {
		if f.Kind == "wheel" {
			ts.Setenv(up+"_WHEEL", f.Path)
			ts.Setenv(up+"_WHEEL_FILE", f.Filename)
			ts.Setenv(up+"_WHEEL_PROJECT", f.Project)
			ts.Setenv(up+"_WHEEL_VERSION", f.Version)
			ts.Setenv(up+"_WHEEL_BIN", r.BinFor(f.Path))
			break
		}
	}
	ts.Setenv(up+"_ROOT", filepath.Join(r.Dir(), "trusted-root.json"))
}

func cmdMutate(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: mutate NAME MUTATION [ARGS...]")
	}
	r, err := repogen.Open(ts.MkAbs(args[0]))
	ts.Check(err)
	for _, m := range mutations {
		if m.name == args[1] {
			err := m.run(r, args[2:])
			if neg {
				if err == nil {
					ts.Fatalf("mutation %s succeeded unexpectedly", args[1])
				}
				return
			}
			ts.Check(err)
			return
		}
	}
	ts.Fatalf("unknown mutation %q", args[1])
}
