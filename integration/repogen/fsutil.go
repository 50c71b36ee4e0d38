package repogen

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// writeFileAtomic replaces path with data through a temporary file and a
// rename, so a server reading the repository while it is mutated sees the
// old bytes or the new ones, never half a file. It does not fsync: a test
// repository need not survive a power cut, and 16,384 fsyncs per
// generation would dominate its cost. That is the one difference from
// cache/atomicfile, which tufpip itself uses for every file it writes.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// The dot prefix keeps half-written files hidden from the server.
	f, err := os.CreateTemp(dir, ".repogen-tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// writeVersioned writes a consistent-snapshot file (N.<role>.json) in
// place. No client asks for version N before the snapshot or root that
// names it is published, and that is written after, so the rename dance
// buys nothing here; on slow disks it doubles the cost of 16,384 bins.
func writeVersioned(path string, data []byte) error {
	return os.WriteFile(path, data, 0o644)
}

func writeJSONAtomic(path string, v any, perm os.FileMode) error {
	data, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return fmt.Errorf("failed to encode %s: %w", filepath.Base(path), err)
	}
	return writeFileAtomic(path, append(data, '\n'), perm)
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("failed to parse %s: %w", path, err)
	}
	return nil
}
