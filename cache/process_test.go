package cache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tufpip/tufpip/updater"
)

// sharedArtifacts is the set every helper process stores; some sizes span
// several copy buffers so that writes really interleave.
func sharedArtifacts() ([]updater.TargetInfo, [][]byte) {
	var tis []updater.TargetInfo
	var datas [][]byte
	for i := range 24 {
		d := randomBytes(uint64(1000+i), 1+i*23_000)
		tis = append(tis, targetFor(fmt.Sprintf("shared-%d.whl", i), d, allAlgs...))
		datas = append(datas, d)
	}
	return tis, datas
}

// helperPut stores sharedArtifacts (in an order that depends on the
// helper's index) into the store named by helperDirEnv, checking every
// returned entry's bytes. Args: "<index> <maxBytes>".
func helperPut() int {
	var idx int
	var maxBytes int64
	if _, err := fmt.Sscan(os.Getenv(helperArgsEnv), &idx, &maxBytes); err != nil {
		fmt.Fprintln(os.Stderr, "bad args:", err)
		return 2
	}
	s, err := OpenStore(os.Getenv(helperDirEnv), StoreOptions{MaxBytes: maxBytes})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	tis, datas := sharedArtifacts()
	failed := false
	for round := range 3 {
		for j := range tis {
			i := (j*(idx+1) + round) % len(tis)
			e, err := s.Put(context.Background(), tis[i], bytes.NewReader(datas[i]))
			if errors.Is(err, ErrCacheFull) && maxBytes > 0 {
				// The other processes hold what fills the store: a
				// refusal, not a failure.
				continue
			}
			if err != nil {
				fmt.Fprintf(os.Stderr, "put %d: %v\n", i, err)
				failed = true
				continue
			}
			got, err := io.ReadAll(e.File())
			e.Close()
			if err != nil || !bytes.Equal(got, datas[i]) {
				fmt.Fprintf(os.Stderr, "put %d returned wrong bytes (%v)\n", i, err)
				failed = true
			}
			// Reads race with the other processes' Puts and evictions.
			g, err := s.Get(context.Background(), tis[(i+7)%len(tis)])
			switch {
			case errors.Is(err, ErrNotCached):
			case err != nil:
				fmt.Fprintf(os.Stderr, "get: %v\n", err)
				failed = true
			default:
				got, err := io.ReadAll(g.File())
				g.Close()
				if err != nil || !bytes.Equal(got, datas[(i+7)%len(tis)]) {
					fmt.Fprintf(os.Stderr, "get returned wrong bytes (%v)\n", err)
					failed = true
				}
			}
		}
	}
	if failed {
		return 1
	}
	return 0
}

func TestProcessesSharingStore(t *testing.T) {
	for _, maxBytes := range []int64{0, 600_000} {
		t.Run("max="+strconv.FormatInt(maxBytes, 10), func(t *testing.T) {
			dir := t.TempDir()
			const procs = 4
			var wg sync.WaitGroup
			outs := make([]bytes.Buffer, procs)
			errs := make([]error, procs)
			for p := range procs {
				cmd := exec.Command(os.Args[0])
				cmd.Env = append(os.Environ(), helperEnv+"=put", helperDirEnv+"="+dir,
					fmt.Sprintf("%s=%d %d", helperArgsEnv, p, maxBytes))
				cmd.Stdout, cmd.Stderr = &outs[p], &outs[p]
				wg.Go(func() { errs[p] = cmd.Run() })
			}
			wg.Wait()
			for p := range procs {
				if errs[p] != nil {
					t.Errorf("helper %d: %v\n%s", p, errs[p], outs[p].String())
				}
			}
			// Whatever is left is complete and verifies; no temp files.
			s := openStore(t, dir, StoreOptions{})
			tis, datas := sharedArtifacts()
			present := 0
			for i, ti := range tis {
				e, err := s.Get(context.Background(), ti)
				if errors.Is(err, ErrNotCached) && maxBytes > 0 {
					continue
				}
				if err != nil {
					t.Fatalf("Get %d: %v", i, err)
				}
				if !bytes.Equal(readEntry(t, e), datas[i]) {
					t.Fatalf("artifact %d corrupt", i)
				}
				present++
			}
			if s.verifications.Load() != int64(present) {
				t.Errorf("fresh store verified %d files, want %d", s.verifications.Load(), present)
			}
			for _, f := range storeFiles(t, dir) {
				if strings.Contains(f, tempPrefix) {
					t.Errorf("temp file left behind: %s", f)
				}
			}
			if maxBytes == 0 && present != len(tis) {
				t.Errorf("%d artifacts present, want %d", present, len(tis))
			}
			t.Logf("%d of %d artifacts present", present, len(tis))
		})
	}
}
