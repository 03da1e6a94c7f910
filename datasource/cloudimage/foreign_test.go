package cloudimage

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// Names in an index resolve inside the index's directory; anything else
// (../, an absolute path, another host or scheme) needs allow_foreign_urls.
func TestResolve_foreignNames(t *testing.T) {
	const digest = "0000000000000000000000000000000000000000000000000000000000000000"
	names := map[string]string{
		"parent":        "../../x.qcow2",
		"absolute path": "/x.qcow2",
		"other host":    "https://mirror.example.org/images/x.qcow2",
		"host-relative": "//mirror.example.org/x.qcow2",
		"file url":      "file:///etc/x.qcow2",
	}
	files := map[string]string{}
	for name, entry := range names {
		files["/images/"+strings.ReplaceAll(name, " ", "-")+"/SUMS"] = digest + "  " + entry + "\n"
	}
	files["/images/sub/SUMS"] = digest + "  ./daily/x.qcow2\n"
	files["/images/percent/SUMS"] = digest + "  %2e%2e/x.qcow2\n"
	files["/images/ftp/SUMS"] = digest + "  ftp://mirror.example.org/x.qcow2\n"
	srv := newServer(t, files)
	for name, entry := range names {
		t.Run(name, func(t *testing.T) {
			index := srv.URL + "/images/" + strings.ReplaceAll(name, " ", "-") + "/SUMS"
			_, err := configure(t, map[string]interface{}{"index_url": index, "name_regex": `x\.qcow2$`}).resolve(t.Context())
			if err == nil || !strings.Contains(err.Error(), "allow_foreign_urls") || !strings.Contains(err.Error(), entry) {
				t.Fatalf("want a refusal naming %q and allow_foreign_urls, got %v", entry, err)
			}
			out, err := configure(t, map[string]interface{}{"index_url": index, "name_regex": `x\.qcow2$`, "allow_foreign_urls": true}).resolve(t.Context())
			if err != nil || strings.Contains(out.URL, "/images/"+name+"/") {
				t.Fatalf("with allow_foreign_urls: %+v %v", out, err)
			}
		})
	}
	// Even allowed, a foreign name needs a scheme the builder downloads from.
	_, err := configure(t, map[string]interface{}{"index_url": srv.URL + "/images/ftp/SUMS", "name_regex": `x\.qcow2$`, "allow_foreign_urls": true}).resolve(t.Context())
	if err == nil || !strings.Contains(err.Error(), `unsupported scheme "ftp"`) {
		t.Fatalf("an ftp:// name: %v", err)
	}
	// A subdirectory is inside, and so is a directory whose name looks
	// like an escaped "..": names are file names, escaped into the URL.
	inside := map[string]string{"/images/sub/SUMS": "/images/sub/daily/x.qcow2", "/images/percent/SUMS": "/images/percent/%252e%252e/x.qcow2"}
	for index, want := range inside {
		out, err := configure(t, map[string]interface{}{"index_url": srv.URL + index, "name_regex": `x\.qcow2$`}).resolve(t.Context())
		if err != nil || out.URL != srv.URL+want {
			t.Fatalf("%s: %+v %v, want %s", index, out, err, want)
		}
	}
}

func TestResolve_foreignNamesInALocalIndex(t *testing.T) {
	const digest = "0000000000000000000000000000000000000000000000000000000000000000"
	dir := t.TempDir()
	cases := map[string]struct {
		entry, want string
		foreign     bool
	}{
		"beside":   {"x.qcow2", filepath.Join(dir, "x.qcow2"), false},
		"below":    {"sub/x.qcow2", filepath.Join(dir, "sub", "x.qcow2"), false},
		"parent":   {"../x.qcow2", filepath.Join(filepath.Dir(dir), "x.qcow2"), true},
		"absolute": {"/etc/x.qcow2", "/etc/x.qcow2", true},
		"url":      {"https://mirror.example.org/x.qcow2", "https://mirror.example.org/x.qcow2", true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			index := filepath.Join(dir, name+".SUMS")
			os.WriteFile(index, []byte(digest+"  "+tc.entry+"\n"), 0o644)
			out, err := configure(t, map[string]interface{}{"index_url": index, "name_regex": `x\.qcow2$`}).resolve(t.Context())
			if tc.foreign {
				if err == nil || !strings.Contains(err.Error(), "allow_foreign_urls") {
					t.Fatalf("want a refusal, got %+v %v", out, err)
				}
				out, err = configure(t, map[string]interface{}{"index_url": index, "name_regex": `x\.qcow2$`, "allow_foreign_urls": true}).resolve(t.Context())
			}
			if err != nil || out.URL != tc.want {
				t.Fatalf("got %+v %v, want url %s", out, err, tc.want)
			}
		})
	}
}

// A redirect to a scheme HTTP cannot follow fails at the first try.
func TestResolve_redirectToAnUnsupportedSchemeIsNotRetried(t *testing.T) {
	var hits int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		atomic.AddInt32(&hits, 1)
		http.Redirect(w, r, "ftp://mirror.example.org/SHA256SUMS", http.StatusFound)
	}))
	t.Cleanup(srv.Close)
	_, err := configure(t, map[string]interface{}{"index_url": srv.URL + "/SHA256SUMS", "name_regex": `x\.qcow2$`, "retries": 3}).resolve(t.Context())
	if err == nil || !strings.Contains(err.Error(), "ftp") {
		t.Fatalf("want an error naming the scheme, got %v", err)
	}
	if n := atomic.LoadInt32(&hits); n != 1 {
		t.Fatalf("the redirect was requested %d times, want 1 (no retry)", n)
	}
}

// A local index is capped like an HTTP one: a path to an image by mistake
// fails fast instead of being read whole.
func TestResolve_localIndexIsCapped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "disk.qcow2")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(maxIndexSize + 1) // sparse: no disk used
	f.Close()
	for _, index := range []string{path, "file://" + path} {
		_, err := configure(t, map[string]interface{}{"index_url": index, "name_regex": `x\.qcow2$`}).resolve(t.Context())
		if err == nil || !strings.Contains(err.Error(), "larger than 16 MiB") {
			t.Fatalf("%s: want the size cap's error, got %v", index, err)
		}
	}
}
