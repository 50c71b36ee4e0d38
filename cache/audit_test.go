package cache

import (
	"context"
	"os"
	"strings"
	"testing"
)

func TestAudit(t *testing.T) {
	s := openStore(t, t.TempDir(), StoreOptions{})
	data := randomBytes(3, 50_000)
	ti := targetFor("a.whl", data, allAlgs...)
	e := put(t, s, ti, data)
	path := e.Path
	e.Close()
	other := randomBytes(4, 1000)
	put(t, s, targetFor("b.whl", other, allAlgs...), other).Close()

	res, err := s.Audit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Checked != 2 || len(res.Bad) != 0 {
		t.Fatalf("clean store: %+v", res)
	}
	// Corrupt one file on disk behind the store's back.
	b, _ := os.ReadFile(path)
	b[100] ^= 1
	os.Chmod(path, 0o644)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err = s.Audit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Checked != 2 || len(res.Bad) != 1 || !strings.Contains(res.Bad[path], "mismatch") {
		t.Fatalf("corrupted store: %+v", res)
	}
}
