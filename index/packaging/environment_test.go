package packaging

import (
	"reflect"
	"slices"
	"testing"
)

func TestExpandPlatforms(t *testing.T) {
	got := ExpandPlatforms([]string{"manylinux2014_x86_64", "linux_x86_64,manylinux2010_i686"})
	want := []string{"manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64", "linux_x86_64", "manylinux2010_i686", "manylinux1_i686"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v", got)
	}
	mac := MacPlatforms(12, 3, "arm64")
	if mac[0] != "macosx_12_0_arm64" || !slices.Contains(mac, "macosx_11_0_universal2") || !slices.Contains(mac, "macosx_10_9_universal2") {
		t.Errorf("mac: %v", mac)
	}
}

func TestInterpreterPlatforms(t *testing.T) {
	tests := []struct {
		platform string
		libc     []string
		first    string // "" for nil
	}{
		{"linux-x86_64", []string{"glibc", "2.31"}, "manylinux_2_31_x86_64"},
		{"linux-aarch64", []string{"", ""}, "linux_aarch64"},
		{"linux-x86_64", []string{"glibc", "x"}, "linux_x86_64"},
		{"macosx-11.0-arm64", nil, "macosx_11_0_arm64"},
		{"macosx-eleven-arm64", nil, ""},
		{"win-amd64", nil, "win_amd64"},
		{"", nil, ""},
	}
	for _, tt := range tests {
		got := InterpreterPlatforms(tt.platform, tt.libc)
		if tt.first == "" && got != nil || tt.first != "" && (len(got) == 0 || got[0] != tt.first) {
			t.Errorf("InterpreterPlatforms(%q, %q) = %v, want first %q", tt.platform, tt.libc, got, tt.first)
		}
	}
}

func TestDefaultPlatforms(t *testing.T) {
	tests := []struct{ goos, goarch, first string }{
		{"linux", "amd64", "manylinux_2_17_x86_64"},
		{"linux", "arm64", "manylinux_2_17_aarch64"},
		{"freebsd", "mips", "manylinux_2_17_mips"},
		{"darwin", "arm64", "macosx_11_0_arm64"},
		{"darwin", "amd64", "macosx_10_9_x86_64"},
		{"windows", "amd64", "win_amd64"},
	}
	for _, tt := range tests {
		if got := DefaultPlatforms(tt.goos, tt.goarch); got[0] != tt.first {
			t.Errorf("DefaultPlatforms(%s, %s) = %v, want first %s", tt.goos, tt.goarch, got, tt.first)
		}
	}
}

func TestTargetEnvironment(t *testing.T) {
	env, err := TargetEnvironment("3.9", "cp", []string{"win_amd64"})
	if err != nil {
		t.Fatal(err)
	}
	if env.PythonVersion != "3.9" || env.Tags[0].String() != "cp39-cp39-win_amd64" {
		t.Errorf("env = %+v", env)
	}
	m := env.Markers
	if m["sys_platform"] != "win32" || m["os_name"] != "nt" || m["python_full_version"] != "3.9.0" || m["platform_machine"] != "AMD64" || m["python_version"] != "3.9" {
		t.Errorf("markers = %v", m)
	}
	m = MarkerEnvironment("3.10.2", "pp", "macosx_12_0_arm64")
	if m["sys_platform"] != "darwin" || m["platform_machine"] != "arm64" || m["implementation_name"] != "pypy" || m["python_full_version"] != "3.10.2" {
		t.Errorf("mac pypy markers = %v", m)
	}
	if _, err := TargetEnvironment("three", "cp", []string{"any"}); err == nil {
		t.Error("bad Python version accepted")
	}
}
