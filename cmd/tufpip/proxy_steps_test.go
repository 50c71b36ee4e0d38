package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestCheckProxyFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    proxyOptions
		want string // "" for no error
		hint string
	}{
		{"loopback", proxyOptions{listen: "127.0.0.1:8458"}, "", ""},
		{"localhost", proxyOptions{listen: "localhost:8458"}, "", ""},
		{"ipv6 loopback", proxyOptions{listen: "[::1]:0"}, "", ""},
		{"no port", proxyOptions{listen: "127.0.0.1"}, "invalid --listen", ""},
		{"remote refused", proxyOptions{listen: "0.0.0.0:8458"}, "refusing to listen on 0.0.0.0:8458", "pass --allow-remote if you mean it"},
		{"remote allowed", proxyOptions{listen: "0.0.0.0:8458", allowRemote: true}, "", ""},
		{"bad hostname", proxyOptions{listen: "127.0.0.1:0", hostnames: []string{"a:80"}}, "invalid --hostname", "give a name such as tufpip.internal"},
		{"negative refusal memo", proxyOptions{listen: "127.0.0.1:0", refusalTTL: -time.Second}, "invalid --remember-refusals", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := checkProxyFlags(&tc.o)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			msg, hint, code := describe(err)
			if code != exitUsage || !strings.HasPrefix(msg, tc.want) || !strings.HasPrefix(hint, tc.hint) {
				t.Errorf("describe = %q, %q, %d; want %q..., %q..., %d", msg, hint, code, tc.want, tc.hint, exitUsage)
			}
		})
	}
}

func TestProxyConfig(t *testing.T) {
	refresh := func(context.Context) error { return nil }
	for _, tc := range []struct {
		name        string
		window      time.Duration
		refresh     bool
		refusalTTL  time.Duration
		pageTTL     time.Duration
		memo        time.Duration
		beforePages bool
	}{
		{"default window", 5 * time.Minute, false, 10 * time.Second, time.Minute, 10 * time.Second, false},
		{"short window", 20 * time.Second, false, 10 * time.Second, 20 * time.Second, 10 * time.Second, false},
		{"window off", 0, false, 10 * time.Second, 0, 10 * time.Second, true},
		{"--refresh", 5 * time.Minute, true, 10 * time.Second, time.Minute, 10 * time.Second, true},
		{"refusal memo off", time.Minute, false, 0, time.Minute, -1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := proxyConfig(tc.window, tc.refresh, tc.refusalTTL, refresh)
			if c.Pages.TTL != tc.pageTTL || c.RefusalTTL != tc.memo || (c.BeforePage != nil) != tc.beforePages {
				t.Errorf("page TTL %v, refusal TTL %v, refresh before pages %v; want %v, %v, %v", c.Pages.TTL, c.RefusalTTL, c.BeforePage != nil, tc.pageTTL, tc.memo, tc.beforePages)
			}
		})
	}
}
