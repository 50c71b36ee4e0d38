package simple

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func parseJSONString(t *testing.T, page string) (*Page, error) {
	t.Helper()
	return ParseJSON(strings.NewReader(page), mustURL(t, "https://idx.example/simple/demo/"), 0)
}

func TestParseJSONFiles(t *testing.T) {
	tests := []struct {
		name string
		file string
		want []File // nil: skipped
	}{
		{"minimal", `{"filename":"d.whl","url":"https://f.example/d.whl","hashes":{}}`,
			[]File{{Filename: "d.whl", URL: "https://f.example/d.whl", Hashes: map[string]string{}, Size: -1}}},
		{"relative URL", `{"filename":"d.whl","url":"../../p/d.whl","hashes":{"sha256":"` + strings.ToUpper(h64) + `"}}`,
			[]File{{Filename: "d.whl", URL: "https://idx.example/p/d.whl", Hashes: map[string]string{"sha256": h64}, Size: -1}}},
		{"bad hashes dropped", `{"filename":"d.whl","url":"d.whl","hashes":{"sha256":"xyz","crc32":"abcdabcd","SHA256":"` + h64 + `"}}`,
			[]File{{Filename: "d.whl", URL: "https://idx.example/simple/demo/d.whl", Hashes: map[string]string{"sha256": h64}, Size: -1}}},
		{"missing hashes", `{"filename":"d.whl","url":"d.whl"}`,
			[]File{{Filename: "d.whl", URL: "https://idx.example/simple/demo/d.whl", Hashes: map[string]string{}, Size: -1}}},
		{"every field", `{"filename":"d.whl","url":"d.whl","hashes":{},"requires-python":">=3.8","yanked":"why","core-metadata":{"sha256":"` + h64 + `"},"size":5,"upload-time":"2024-01-01T00:00:00Z","gpg-sig":false,"future-key":[1,2]}`,
			[]File{{Filename: "d.whl", URL: "https://idx.example/simple/demo/d.whl", Hashes: map[string]string{}, RequiresPython: ">=3.8", Yanked: true, YankedReason: "why",
				CoreMetadata: map[string]string{"sha256": h64}, Size: 5, UploadTime: "2024-01-01T00:00:00Z"}}},
		{"yanked true", `{"filename":"d.whl","url":"d.whl","yanked":true}`,
			[]File{{Filename: "d.whl", URL: "https://idx.example/simple/demo/d.whl", Hashes: map[string]string{}, Yanked: true, Size: -1}}},
		{"yanked empty reason", `{"filename":"d.whl","url":"d.whl","yanked":""}`,
			[]File{{Filename: "d.whl", URL: "https://idx.example/simple/demo/d.whl", Hashes: map[string]string{}, Yanked: true, Size: -1}}},
		{"yanked false", `{"filename":"d.whl","url":"d.whl","yanked":false}`,
			[]File{{Filename: "d.whl", URL: "https://idx.example/simple/demo/d.whl", Hashes: map[string]string{}, Size: -1}}},
		{"legacy dist-info-metadata", `{"filename":"d.whl","url":"d.whl","dist-info-metadata":true}`,
			[]File{{Filename: "d.whl", URL: "https://idx.example/simple/demo/d.whl", Hashes: map[string]string{}, CoreMetadata: map[string]string{}, Size: -1}}},
		{"core-metadata wins", `{"filename":"d.whl","url":"d.whl","core-metadata":false,"dist-info-metadata":true}`,
			[]File{{Filename: "d.whl", URL: "https://idx.example/simple/demo/d.whl", Hashes: map[string]string{}, Size: -1}}},
		{"core-metadata with only bad hashes", `{"filename":"d.whl","url":"d.whl","core-metadata":{"sha256":"bad"}}`,
			[]File{{Filename: "d.whl", URL: "https://idx.example/simple/demo/d.whl", Hashes: map[string]string{}, Size: -1}}},
		{"core-metadata empty object", `{"filename":"d.whl","url":"d.whl","core-metadata":{}}`,
			[]File{{Filename: "d.whl", URL: "https://idx.example/simple/demo/d.whl", Hashes: map[string]string{}, CoreMetadata: map[string]string{}, Size: -1}}},
		{"unsafe filename", `{"filename":"../evil.whl","url":"d.whl"}`, nil},
		{"NUL filename", `{"filename":"d\u0000.whl","url":"d.whl"}`, nil},
		{"file URL", `{"filename":"d.whl","url":"file:///etc/passwd"}`, nil},
		{"javascript URL", `{"filename":"d.whl","url":"javascript:alert(1)"}`, nil},
		{"filename not the URL's", `{"filename":"good-1.0.tar.gz","url":"https://h/evil-1.0.tar.gz"}`, nil},
		{"URL without a filename", `{"filename":"d.whl","url":"https://h/download?id=d.whl"}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := parseJSONString(t, `{"meta":{"api-version":"1.1"},"name":"demo","files":[`+tt.file+`]}`)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if want == nil {
				want = []File{}
			}
			if !reflect.DeepEqual(p.Files, want) {
				t.Errorf("files:\n got %+v\nwant %+v", p.Files, want)
			}
		})
	}
}

func TestParseJSONRejects(t *testing.T) {
	tests := []struct {
		name, page string
		is         error
	}{
		{"not JSON", `<html>`, nil},
		{"trailing data", `{"meta":{"api-version":"1.0"},"name":"demo","files":[]} {}`, nil},
		{"two values", `{"meta":{"api-version":"1.0"},"name":"demo","files":[]}[]`, nil},
		{"no meta", `{"name":"demo","files":[]}`, nil},
		{"v2", `{"meta":{"api-version":"2.0"},"name":"demo","files":[]}`, ErrUnsupportedAPIVersion},
		{"bad version", `{"meta":{"api-version":"latest"},"name":"demo","files":[]}`, ErrUnsupportedAPIVersion},
		{"no name", `{"meta":{"api-version":"1.0"},"files":[]}`, nil},
		{"bad name", `{"meta":{"api-version":"1.0"},"name":"../x","files":[]}`, nil},
		{"file without url", `{"meta":{"api-version":"1.0"},"name":"demo","files":[{"filename":"d.whl"}]}`, nil},
		{"file without filename", `{"meta":{"api-version":"1.0"},"name":"demo","files":[{"url":"d.whl"}]}`, nil},
		{"filename not a string", `{"meta":{"api-version":"1.0"},"name":"demo","files":[{"filename":1,"url":"d.whl"}]}`, nil},
		{"yanked a number", `{"meta":{"api-version":"1.0"},"name":"demo","files":[{"filename":"d.whl","url":"d.whl","yanked":1}]}`, nil},
		{"negative size", `{"meta":{"api-version":"1.1"},"name":"demo","files":[{"filename":"d.whl","url":"d.whl","size":-5}]}`, nil},
		{"fractional size", `{"meta":{"api-version":"1.1"},"name":"demo","files":[{"filename":"d.whl","url":"d.whl","size":1.5}]}`, nil},
		{"core-metadata a string", `{"meta":{"api-version":"1.1"},"name":"demo","files":[{"filename":"d.whl","url":"d.whl","core-metadata":"sha256=x"}]}`, nil},
		{"hash not a string", `{"meta":{"api-version":"1.1"},"name":"demo","files":[{"filename":"d.whl","url":"d.whl","hashes":{"sha256":1}}]}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := parseJSONString(t, tt.page)
			if err == nil {
				t.Fatalf("got %+v, want error", p)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("err = %v, want %v", err, tt.is)
			}
		})
	}
}

func TestParseJSONPage(t *testing.T) {
	p, err := parseJSONString(t, `{"meta":{"api-version":"1.1","_last-serial":5},"name":"Demo_Pkg","files":[
		{"filename":"d.whl","url":"https://a/d.whl"},{"filename":"d.whl","url":"https://b/d.whl"}],"versions":["1.0","2.0"]}`)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "demo-pkg" || p.Meta != "1.1" || len(p.Files) != 1 || p.Files[0].URL != "https://a/d.whl" || !reflect.DeepEqual(p.Versions, []string{"1.0", "2.0"}) {
		t.Errorf("page = %+v", p)
	}
	p, err = parseJSONString(t, `{"meta":{"api-version":"1.0"},"name":"demo","files":[]}`)
	if err != nil || p.Versions != nil || p.Files == nil {
		t.Errorf("1.0 page = %+v, %v", p, err)
	}
}

// Text reaches the model in the form an HTML parser would give it, so the
// JSON and HTML renderings of a page say the same thing.
func TestParseJSONCleansText(t *testing.T) {
	p, err := parseJSONString(t, `{"meta":{"api-version":"1.1"},"name":"demo","files":[{"filename":"d.whl","url":"d.whl","yanked":"a\r\nb\rc\u0000d","requires-python":">=3\r"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	f := p.Files[0]
	if f.YankedReason != "a\nb\nc\uFFFDd" || f.RequiresPython != ">=3\n" {
		t.Fatalf("got %q, %q", f.YankedReason, f.RequiresPython)
	}
	var b strings.Builder
	if err := p.RenderHTML(&b); err != nil {
		t.Fatal(err)
	}
	q, err := ParseHTML(strings.NewReader(b.String()), mustURL(t, "https://idx.example/simple/demo/"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if q.Files[0].YankedReason != f.YankedReason || q.Files[0].RequiresPython != f.RequiresPython {
		t.Errorf("HTML gives %q, %q", q.Files[0].YankedReason, q.Files[0].RequiresPython)
	}
}
