package multirepo

import (
	"errors"
	"strings"
	"testing"
)

// registered is a Registry with corp and public registered.
func registered(name string) (string, bool) {
	switch name {
	case "corp":
		return "https://corp.example/metadata/", true
	case "public":
		return "https://public.example/metadata", true
	case "mirror":
		return "https://mirror.example/metadata/", true
	}
	return "", false
}

const goodMap = `{
  "repositories": {"corp": [], "public": ["https://public.example/metadata/"], "mirror": ["https://mirror.example/metadata/"]},
  "mapping": [
    {"paths": ["corp-*"], "repositories": ["corp"], "threshold": 1, "terminating": true},
    {"paths": ["shared-*", "both"], "repositories": ["mirror", "public"], "threshold": 2},
    {"paths": ["*"], "repositories": ["public"], "threshold": 1}
  ]
}`

func TestParseValid(t *testing.T) {
	m, err := Parse([]byte(goodMap), registered)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(m.Repositories, ","); got != "corp,mirror,public" {
		t.Errorf("repositories %q, want sorted corp,mirror,public", got)
	}
	if len(m.Mappings) != 3 {
		t.Fatalf("%d mappings, want 3", len(m.Mappings))
	}
	m1 := m.Mappings[1]
	if m1.Index != 1 || m1.Threshold != 2 || m1.Terminating || strings.Join(m1.Repositories, ",") != "mirror,public" {
		t.Errorf("mapping 2 = %+v", m1)
	}
	if !m.Mappings[0].Terminating {
		t.Error("mapping 1 should be terminating")
	}
	if got := m1.String(); got != "mapping 2 (shared-*, both)" {
		t.Errorf("String() = %q", got)
	}
}

func TestParseInvalid(t *testing.T) {
	big := `{"repositories": {"corp": []}, "mapping": [{"paths": ["` + strings.Repeat("a", DefaultMaxMapBytes) + `"], "repositories": ["corp"], "threshold": 1}]}`
	tests := []struct {
		name, data, where, reason string
	}{
		{"too large", big, "", "larger than 1048576 bytes"},
		{"not JSON", `{"repositories": `, "", "not a valid map file: unexpected EOF"},
		{"unknown field", `{"repositories": {"corp": []}, "mapping": [], "extra": 1}`, "", `not a valid map file: json: unknown field "extra"`},
		{"unknown mapping field", `{"repositories": {"corp": []}, "mapping": [{"paths": ["*"], "repositories": ["corp"], "threshold": 1, "terminate": true}]}`, "", `json: unknown field "terminate"`},
		{"trailing data", `{"repositories": {"corp": []}, "mapping": [{"paths": ["*"], "repositories": ["corp"], "threshold": 1}]} {}`, "", "not a valid map file: data after the JSON object"},
		{"no repositories", `{"repositories": {}, "mapping": [{"paths": ["*"], "repositories": ["corp"], "threshold": 1}]}`, "repositories", "empty: list the registered repositories the mappings use"},
		{"unregistered", `{"repositories": {"nope": []}, "mapping": [{"paths": ["*"], "repositories": ["nope"], "threshold": 1}]}`, `repositories["nope"]`, `unknown repository "nope": it is not registered`},
		{"other URL", `{"repositories": {"corp": ["https://evil.example/metadata/"]}, "mapping": [{"paths": ["*"], "repositories": ["corp"], "threshold": 1}]}`, `repositories["corp"]`,
			`URL "https://evil.example/metadata/" is not the metadata URL "corp" was registered with ("https://corp.example/metadata/"); leave the list empty or give that URL`},
		{"no mapping", `{"repositories": {"corp": []}, "mapping": []}`, "mapping", "empty: nothing would be served"},
		{"null mapping", `{"repositories": {"corp": []}, "mapping": [null]}`, "mapping[0]", "null"},
		{"no paths", `{"repositories": {"corp": []}, "mapping": [{"paths": [], "repositories": ["corp"], "threshold": 1}]}`, "mapping[0].paths", `empty: give at least one pattern, such as "corp-*" or "*"`},
		{"empty pattern", `{"repositories": {"corp": []}, "mapping": [{"paths": ["*"], "repositories": ["corp"], "threshold": 1}, {"paths": [""], "repositories": ["corp"], "threshold": 1}]}`, "mapping[1].paths", "an empty pattern matches nothing"},
		{"bad glob", `{"repositories": {"corp": []}, "mapping": [{"paths": ["corp-[a"], "repositories": ["corp"], "threshold": 1}]}`, "mapping[0].paths", `bad pattern "corp-[a": syntax error in pattern`},
		{"no mapping repositories", `{"repositories": {"corp": []}, "mapping": [{"paths": ["*"], "repositories": [], "threshold": 1}]}`, "mapping[0].repositories", "empty"},
		{"mapping names unlisted", `{"repositories": {"corp": []}, "mapping": [{"paths": ["*"], "repositories": ["public"], "threshold": 1}]}`, "mapping[0].repositories", `unknown repository "public": not in the map's "repositories"`},
		{"repeated repository", `{"repositories": {"corp": []}, "mapping": [{"paths": ["*"], "repositories": ["corp", "corp"], "threshold": 2}]}`, "mapping[0].repositories", `"corp" is listed twice`},
		{"threshold 0", `{"repositories": {"corp": []}, "mapping": [{"paths": ["*"], "repositories": ["corp"]}]}`, "mapping[0].threshold", "0: want 1 to 1 (the number of its repositories)"},
		{"threshold negative", `{"repositories": {"corp": []}, "mapping": [{"paths": ["*"], "repositories": ["corp"], "threshold": -1}]}`, "mapping[0].threshold", "-1: want 1 to 1 (the number of its repositories)"},
		{"threshold too high", `{"repositories": {"corp": [], "public": []}, "mapping": [{"paths": ["*"], "repositories": ["corp", "public"], "threshold": 3}]}`, "mapping[0].threshold", "3: want 1 to 2 (the number of its repositories)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse([]byte(tt.data), registered)
			if err == nil {
				t.Fatalf("Parse accepted it: %+v", m)
			}
			var me *MapError
			if !errors.As(err, &me) {
				t.Fatalf("error %T %v, want *MapError", err, err)
			}
			if me.Where != tt.where {
				t.Errorf("Where = %q, want %q", me.Where, tt.where)
			}
			if !strings.Contains(me.Reason, tt.reason) {
				t.Errorf("Reason = %q, want it to contain %q", me.Reason, tt.reason)
			}
			if tt.where != "" && !strings.HasPrefix(err.Error(), tt.where+": ") {
				t.Errorf("Error() = %q, want it to start with %q", err.Error(), tt.where+": ")
			}
		})
	}
}

func TestParseTrailingSlashURL(t *testing.T) {
	// public was registered without the trailing slash; the map gives it
	// with one: the same URL.
	if _, err := Parse([]byte(`{"repositories": {"public": ["https://public.example/metadata/"]}, "mapping": [{"paths": ["*"], "repositories": ["public"], "threshold": 1}]}`), registered); err != nil {
		t.Fatal(err)
	}
}

func TestRoute(t *testing.T) {
	m, err := Parse([]byte(goodMap), registered)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		want []int // mapping indexes, in order
	}{
		{"corp-auth", []int{0}},     // terminating: public is never on the route
		{"shared-lib", []int{1, 2}}, // non-terminating falls through to "*"
		{"both", []int{1, 2}},       // the second pattern of mapping 2
		{"requests", []int{2}},      // only "*"
		{"corp", []int{2}},          // "corp-*" needs the dash
		{"xcorp-auth", []int{2}},    // patterns match the whole name
	}
	for _, tt := range tests {
		var got []int
		for _, mp := range m.Route(tt.name) {
			got = append(got, mp.Index)
		}
		if !equalInts(got, tt.want) {
			t.Errorf("Route(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
	if !m.Reaches("shared-lib", "public") || !m.Reaches("shared-lib", "mirror") {
		t.Error("shared-lib should reach mirror and public")
	}
	if m.Reaches("corp-auth", "public") {
		t.Error("corp-auth reaches public past a terminating mapping")
	}

	only, err := Parse([]byte(`{"repositories": {"corp": []}, "mapping": [{"paths": ["corp-*"], "repositories": ["corp"], "threshold": 1}]}`), registered)
	if err != nil {
		t.Fatal(err)
	}
	if r := only.Route("requests"); len(r) != 0 {
		t.Errorf("Route(requests) = %v, want no mapping", r)
	}
	// Target paths for get: '*' does not cross '/'.
	paths, err := Parse([]byte(`{"repositories": {"corp": [], "public": []}, "mapping": [{"paths": ["corp/*"], "repositories": ["corp"], "threshold": 1, "terminating": true}, {"paths": ["*/*/*/*"], "repositories": ["public"], "threshold": 1}]}`), registered)
	if err != nil {
		t.Fatal(err)
	}
	if r := paths.Route("corp/corp.html"); len(r) != 1 || r[0].Index != 0 {
		t.Errorf("Route(corp/corp.html) = %v", r)
	}
	if r := paths.Route("4b/77/47b4/pkg-1.0.tar.gz"); len(r) != 1 || r[0].Index != 1 {
		t.Errorf("Route(4b/77/47b4/pkg-1.0.tar.gz) = %v", r)
	}
	if r := paths.Route("corp/x/y"); len(r) != 0 {
		t.Errorf("Route(corp/x/y) = %v, want none", r)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// FuzzParseMap: Parse never panics, and what it accepts obeys every
// rule it promises.
func FuzzParseMap(f *testing.F) {
	f.Add([]byte(goodMap))
	f.Add([]byte(`{"repositories": {"corp": []}, "mapping": [{"paths": ["corp-*"], "repositories": ["corp"], "threshold": 1, "terminating": true}]}`))
	f.Add([]byte(`{"repositories": {"corp": [], "public": []}, "mapping": [{"paths": ["[a-"], "repositories": ["corp", "public"], "threshold": 2}]}`))
	f.Add([]byte(`{"repositories": {"corp": ["https://corp.example/metadata"]}, "mapping": [null]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data, registered)
		if err != nil {
			var me *MapError
			if !errors.As(err, &me) {
				t.Fatalf("error %T, want *MapError", err)
			}
			return
		}
		if len(m.Repositories) == 0 || len(m.Mappings) == 0 {
			t.Fatalf("accepted an empty map: %+v", m)
		}
		for i, mp := range m.Mappings {
			if mp.Index != i || len(mp.Paths) == 0 || mp.Threshold < 1 || mp.Threshold > len(mp.Repositories) {
				t.Fatalf("accepted mapping %+v", mp)
			}
			seen := map[string]bool{}
			for _, r := range mp.Repositories {
				if _, ok := registered(r); !ok || seen[r] {
					t.Fatalf("accepted repository %q in %+v", r, mp)
				}
				seen[r] = true
			}
			for _, p := range mp.Paths {
				mp.Matches(p) // must not panic on the map's own patterns
			}
		}
		for _, name := range []string{"corp-auth", "requests", ""} {
			route := m.Route(name)
			for j, mp := range route {
				if !mp.Matches(name) || (mp.Terminating && j != len(route)-1) {
					t.Fatalf("Route(%q) = %+v", name, route)
				}
			}
		}
	})
}
