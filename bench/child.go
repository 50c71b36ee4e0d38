package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/crypto/blake2b"

	"github.com/tufpip/tufpip/cache"
	"github.com/tufpip/tufpip/updater"
)

// childVerify runs in a process of its own (so its peak RSS is its own):
// "bench child MODE FILE TARGETINFO-JSON [STORE-DIR]". MODE is "mem"
// (x/crypto's blake2b over a buffer in memory: the library's own speed),
// "copy"
// (updater.VerifyCopy to nowhere: hashing alone), "put" (cache.Store.Put:
// hash, write, fsync, rename) or "get" (cache.Store.Get of a stored file
// in a new process: the re-verification a restarted proxy does) or
// "write" (the file copied into the store directory with io.Copy, one
// fsync, no hashing: the disk's own limit, which Put cannot beat). It
// prints the seconds the operation took.
func childVerify(args []string) error {
	if len(args) < 3 {
		return fmt.Errorf("usage: bench child copy|put|get FILE TARGETINFO [STORE]")
	}
	mode, file := args[0], args[1]
	var ti updater.TargetInfo
	if err := json.Unmarshal([]byte(args[2]), &ti); err != nil {
		return err
	}
	if mode == "mem" {
		// The library alone: blake2b over bytes already in memory, as
		// many bytes as the file has, no I/O at all.
		buf := make([]byte, 4<<20)
		h, _ := blake2b.New256(nil)
		start := time.Now()
		for left := ti.Length; left > 0; left -= int64(len(buf)) {
			h.Write(buf[:min(left, int64(len(buf)))])
		}
		h.Sum(nil)
		fmt.Printf("%.6f\n", time.Since(start).Seconds())
		return nil
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	start := time.Now()
	switch mode {
	case "copy":
		_, err = updater.VerifyCopy(nil, f, ti)
	case "write":
		if len(args) < 4 {
			return fmt.Errorf("%s needs a directory", mode)
		}
		err = plainWrite(f, args[3])
	case "put", "get":
		if len(args) < 4 {
			return fmt.Errorf("%s needs a store directory", mode)
		}
		var s *cache.Store
		if s, err = cache.OpenStore(args[3], cache.StoreOptions{}); err != nil {
			return err
		}
		var e *cache.Entry
		if mode == "put" {
			e, err = s.Put(context.Background(), ti, f)
		} else {
			e, err = s.Get(context.Background(), ti)
		}
		if err == nil {
			e.Close()
		}
	default:
		return fmt.Errorf("unknown mode %q", mode)
	}
	if err != nil {
		return err
	}
	fmt.Printf("%.6f\n", time.Since(start).Seconds())
	return nil
}

// plainWrite copies r into a new file in dir and fsyncs it once: what
// writing the bytes costs on this disk without verifying them.
func plainWrite(r io.Reader, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	out, err := os.CreateTemp(dir, "plain-*")
	if err != nil {
		return err
	}
	defer os.Remove(out.Name())
	defer out.Close()
	if _, err := io.Copy(out, r); err != nil {
		return err
	}
	if err := out.Sync(); err != nil {
		return err
	}
	return out.Close()
}
