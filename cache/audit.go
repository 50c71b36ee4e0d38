package cache

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/tufpip/tufpip/updater"
)

// AuditResult is what Audit found.
type AuditResult struct {
	Checked int
	// Bad lists files whose bytes do not match their content address
	// (tampered with or corrupted on disk), with the reason.
	Bad map[string]string
}

// Audit re-hashes every artifact in the store and checks it against the
// content address it is stored under. Nothing is removed: Get already
// removes a bad file when it is next asked for; Audit is for people and
// tests who want to know now. Temp files and locks are not artifacts.
func (s *Store) Audit(ctx context.Context) (AuditResult, error) {
	res := AuditResult{Bad: map[string]string{}}
	for _, p := range addressPreference {
		root := filepath.Join(s.artifacts, p.alg)
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if os.IsNotExist(err) && path == root {
					return filepath.SkipDir
				}
				return err
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if d.IsDir() {
				return nil
			}
			sum := d.Name()
			if len(sum) != p.hexLen || filepath.Base(filepath.Dir(path)) != sum[:2] {
				res.Bad[path] = "not named by a " + p.alg + " content address"
				return nil
			}
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			ti := updater.TargetInfo{Path: path, Length: updater.UnknownLength, Hashes: map[string]string{p.alg: sum}}
			if _, err := updater.VerifyCopy(nil, f, ti); err != nil {
				res.Bad[path] = err.Error()
			}
			res.Checked++
			return nil
		})
		if err != nil {
			return res, fmt.Errorf("auditing artifact cache %s: %w", s.dir, err)
		}
	}
	return res, nil
}
