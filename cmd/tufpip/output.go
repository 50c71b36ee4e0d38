package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/tufpip/tufpip/cache"

	"github.com/tufpip/tufpip/cache/atomicfile"
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
	return atomicfile.Write(path, 0o644, func(w io.Writer) error {
		_, err := io.Copy(w, r)
		return err
	})
}
