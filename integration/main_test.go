// Package integration holds the end-to-end tests: the built tufpip binary,
// real HTTP servers and real pip, against repositories made by repogen.
//
// The tests exec the binary, not runProxy in-process, so that what they
// check is what users run: flag parsing, signal handling, exit codes and
// the words on stderr included.
package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// tufpipBin is the tufpip binary built once by TestMain.
var tufpipBin string

// binDir holds the binaries built for this run.
var binDir string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	var err error
	binDir, err = os.MkdirTemp("", "tufpip-integration-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	defer os.RemoveAll(binDir)
	tufpipBin, err = buildTufpip("tufpip")
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	return m.Run()
}

// moduleRoot is the directory of go.mod, two levels up from here.
func moduleRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	return filepath.Dir(wd), nil
}

// buildTufpip builds ./cmd/tufpip into binDir/name with extra build flags.
func buildTufpip(name string, flags ...string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	out := filepath.Join(binDir, name)
	if runtime.GOOS == "windows" {
		out += ".exe"
	}
	args := append([]string{"build"}, flags...)
	args = append(args, "-o", out, "./cmd/tufpip")
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go %v: %v\n%s", args, err, b)
	}
	return out, nil
}

var (
	raceOnce sync.Once
	raceBin  string
	raceErr  error
)

// raceTufpip builds, once and only for the test that asks, tufpip with the
// race detector: it is slower to build and to run than the plain binary.
func raceTufpip(t *testing.T) string {
	t.Helper()
	raceTufpipBuild()
	if raceErr != nil {
		t.Fatalf("building tufpip with -race: %v", raceErr)
	}
	return raceBin
}
