package proxy

import (
	"slices"
	"testing"
)

func TestListenHosts(t *testing.T) {
	for _, tc := range []struct {
		listen string
		want   []string
	}{
		{"127.0.0.1", []string{"127.0.0.1"}},
		{"LocalHost.", []string{"localhost"}},
		{"::1", []string{"::1"}},
		{"10.0.0.5", []string{"10.0.0.5"}},
		{"not a host", nil},
	} {
		got, err := ListenHosts(tc.listen)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ListenHosts(%q) = %q, %v; want %q", tc.listen, got, err, tc.want)
		}
	}
	// Every address stands for this machine's: loopback among them.
	for _, listen := range []string{"", "0.0.0.0", "::"} {
		got, err := ListenHosts(listen)
		if err != nil || !slices.Contains(got, "127.0.0.1") && !slices.Contains(got, "::1") {
			t.Errorf("ListenHosts(%q) = %q, %v; want this machine's addresses", listen, got, err)
		}
	}
}
