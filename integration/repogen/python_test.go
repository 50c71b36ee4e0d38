package repogen

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tufpip/tufpip/integration/testenv"
)

// requirePip returns the python3 to run pip with. Without one the test is
// skipped locally but fails in CI, where these checks must run.
func requirePip(t *testing.T) string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err == nil {
		err = exec.Command(py, "-m", "pip", "--version").Run()
	}
	if err != nil {
		testenv.MissingPrerequisite(t, "python3 with pip not available: %v", err)
	}
	return py
}

// runPython runs python3 with pip isolated from the user's configuration.
func runPython(t *testing.T, py string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(py, args...)
	cmd.Env = append(os.Environ(),
		"PIP_CONFIG_FILE="+os.DevNull,
		"PIP_DISABLE_PIP_VERSION_CHECK=1",
		"PIP_NO_CACHE_DIR=1",
		"PIP_NO_INPUT=1",
		"PIP_ROOT_USER_ACTION=ignore",
		"PYTHONDONTWRITEBYTECODE=1",
	)
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python3 %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestSyntheticWheelsInstall(t *testing.T) {
	t.Parallel()
	py := requirePip(t)
	r := mustGenerate(t, Options{BitLength: 2}, demoSpecs())
	// One pip run per batch of wheels of distinct projects: pip is slow to
	// start, and two versions of a project cannot share a target dir.
	var batches [][]FileInfo
	for _, f := range r.Files() {
		if f.Kind != kindWheel {
			continue
		}
		placed := false
		for i, b := range batches {
			if !slices.ContainsFunc(b, func(o FileInfo) bool { return o.Project == f.Project }) {
				batches[i] = append(b, f)
				placed = true
				break
			}
		}
		if !placed {
			batches = append(batches, []FileInfo{f})
		}
	}
	if len(batches) == 0 {
		t.Fatal("no wheels")
	}
	for _, batch := range batches {
		target := t.TempDir()
		args := []string{"-m", "pip", "install", "--no-index", "--no-deps", "--target", target}
		var imports, prints, want []string
		for _, f := range batch {
			args = append(args, filepath.Join(r.Dir(), "packages", f.Path))
			pkg := distName(f.Project)
			imports = append(imports, pkg)
			prints = append(prints, pkg+".__version__")
			want = append(want, f.Version)
		}
		runPython(t, py, nil, args...)
		code := fmt.Sprintf("import %s; print(%s)", strings.Join(imports, ", "), strings.Join(prints, ", "))
		out := runPython(t, py, []string{"PYTHONPATH=" + target}, "-c", code)
		if got := strings.TrimSpace(out); got != strings.Join(want, " ") {
			t.Errorf("installed %v: versions %q, want %q", imports, got, strings.Join(want, " "))
		}
	}
}

func TestSyntheticSdistBuilds(t *testing.T) {
	t.Parallel()
	py := requirePip(t)
	r := mustGenerate(t, Options{BitLength: 2}, demoSpecs())
	n := 0
	for _, f := range r.Files() {
		if f.Kind != kindSdist {
			continue
		}
		n++
		wheels, target := t.TempDir(), t.TempDir()
		sdist := filepath.Join(r.Dir(), "packages", f.Path)
		runPython(t, py, nil, "-m", "pip", "wheel", "--no-deps", "--no-index", sdist, "-w", wheels)
		built, err := filepath.Glob(filepath.Join(wheels, "*.whl"))
		if err != nil || len(built) != 1 {
			t.Fatalf("%s: built %v", f.Filename, built)
		}
		checkRecord(t, built[0])
		runPython(t, py, nil, "-m", "pip", "install", "--no-index", "--no-deps", "--target", target, built[0])
		pkg := distName(f.Project)
		out := runPython(t, py, []string{"PYTHONPATH=" + target}, "-c", fmt.Sprintf("import %s; print(%s.__version__)", pkg, pkg))
		if strings.TrimSpace(out) != f.Version {
			t.Errorf("%s: __version__ %q, want %q", f.Filename, out, f.Version)
		}
	}
	if n == 0 {
		t.Fatal("no sdists")
	}
}

// TestPipInstallsFromServedIndex has pip itself resolve against the
// generated simple pages: dependencies through PEP 658 metadata, yanked
// releases skipped, an sdist built offline.
func TestPipInstallsFromServedIndex(t *testing.T) {
	t.Parallel()
	py := requirePip(t)
	r := mustGenerate(t, Options{BitLength: 3}, demoSpecs())
	base := serve(t, r.Dir())
	target := t.TempDir()
	runPython(t, py, nil, "-m", "pip", "install", "--index-url", base+"/simple/", "--target", target, "app", "lib-name-two")
	out := runPython(t, py, []string{"PYTHONPATH=" + target}, "-c", "import app, lib, lib_name_two; print(app.__version__, lib.__version__, lib_name_two.__version__)")
	if got := strings.TrimSpace(out); got != "1.0 2.0 1.1" {
		t.Fatalf("installed versions %q, want app 1.0, lib 2.0 (dependency), lib_name_two 1.1 (the only unyanked release)", got)
	}
}

// TestWheelRecordAndDeterminism checks what pip does not: every RECORD
// hash is right, and the same spec always gives the same bytes.
func TestWheelRecordAndDeterminism(t *testing.T) {
	rel := ReleaseSpec{Version: "2.1.0", RequiresPython: ">=3.9", Dependencies: []string{"lib>=1.0", "other; python_version<'3.12'"}}
	a, err := buildRelease("My.Pkg", ReleaseSpec{Version: rel.Version, RequiresPython: rel.RequiresPython, Dependencies: rel.Dependencies, Dists: Wheel | Sdist})
	if err != nil {
		t.Fatal(err)
	}
	b, err := buildRelease("My.Pkg", ReleaseSpec{Version: rel.Version, RequiresPython: rel.RequiresPython, Dependencies: rel.Dependencies, Dists: Wheel | Sdist})
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 2 || a[0].filename != "my_pkg-2.1.0-py3-none-any.whl" || a[1].filename != "my_pkg-2.1.0.tar.gz" {
		t.Fatalf("files %q %q", a[0].filename, a[1].filename)
	}
	for i := range a {
		if !bytes.Equal(a[i].data, b[i].data) {
			t.Errorf("%s is not reproducible", a[i].filename)
		}
	}
	path := filepath.Join(t.TempDir(), a[0].filename)
	if err := os.WriteFile(path, a[0].data, 0o644); err != nil {
		t.Fatal(err)
	}
	checkRecord(t, path)
	meta := string(a[0].coreMetadata)
	for _, want := range []string{"Metadata-Version: 2.1\n", "Name: My.Pkg\n", "Version: 2.1.0\n", "Requires-Python: >=3.9\n", "Requires-Dist: lib>=1.0\n", "Requires-Dist: other; python_version<'3.12'\n"} {
		if !strings.Contains(meta, want) {
			t.Errorf("METADATA lacks %q:\n%s", want, meta)
		}
	}
	// A real wheel read back gives the same name, version and metadata.
	project, d, err := readRealDist(a[0].filename, a[0].data)
	if err != nil || project != "my_pkg" || d.version != "2.1.0" || !bytes.Equal(d.coreMetadata, a[0].coreMetadata) || d.requiresPython != ">=3.9" {
		t.Errorf("readRealDist = %q %+v %v", project, d.version, err)
	}
	_, s, err := readRealDist(a[1].filename, a[1].data)
	if err != nil || s.requiresPython != ">=3.9" || s.coreMetadata != nil {
		t.Errorf("readRealDist(sdist) = %+v %v", s.requiresPython, err)
	}
}

// checkRecord verifies every RECORD line of a wheel against its entry.
func checkRecord(t *testing.T, whl string) {
	t.Helper()
	zr, err := zip.OpenReader(whl)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	files := map[string][]byte{}
	var record []byte
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name] = data
		if strings.HasSuffix(f.Name, ".dist-info/RECORD") {
			record = data
		}
	}
	if record == nil {
		t.Fatalf("%s has no RECORD", whl)
	}
	listed := 0
	for _, line := range strings.Split(strings.TrimSpace(string(record)), "\n") {
		parts := strings.Split(line, ",")
		if len(parts) != 3 {
			t.Fatalf("RECORD line %q", line)
		}
		if strings.HasSuffix(parts[0], "/RECORD") {
			if parts[1] != "" || parts[2] != "" {
				t.Errorf("RECORD lists itself with %q", line)
			}
			listed++
			continue
		}
		data, ok := files[parts[0]]
		if !ok {
			t.Fatalf("RECORD lists missing %s", parts[0])
		}
		sum := sha256.Sum256(data)
		if want := "sha256=" + base64.RawURLEncoding.EncodeToString(sum[:]); parts[1] != want || parts[2] != fmt.Sprint(len(data)) {
			t.Errorf("RECORD %q, want %s,%d", line, want, len(data))
		}
		listed++
	}
	if listed != len(files) {
		t.Errorf("RECORD lists %d of %d files", listed, len(files))
	}
}
