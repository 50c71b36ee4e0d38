package main

import (
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/tufpip/tufpip/cache"
)

// writeOutput copies a verified cache entry to path (temp file, fsync,
// rename), or to standard output for "-".
func writeOutput(cmd *cobra.Command, path string, ent *cache.Entry) error {
	f := ent.File()
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if path == "-" {
		_, err := io.Copy(cmd.OutOrStdout(), f)
		return err
	}
	return copyAtomic(path, f)
}

func copyAtomic(path string, r io.Reader) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".tufpip-tmp-*")
	if err != nil {
		return err
	}
	_, err = io.Copy(tmp, r)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}
