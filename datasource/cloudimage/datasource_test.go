package cloudimage

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
)

// server serves files by path; hits counts requests per path.
type server struct {
	*httptest.Server
	files      map[string]string
	failFirst  map[string]int // path -> how many 503s before success
	hits       map[string]*int32
	userAgents chan string
}

func newServer(t *testing.T, files map[string]string) *server {
	s := &server{files: files, failFirst: map[string]int{}, hits: map[string]*int32{}, userAgents: make(chan string, 100)}
	for p := range files {
		s.hits[p] = new(int32)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/latest/SHA512SUMS", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/20240211-1654/SHA512SUMS", http.StatusFound)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.userAgents <- r.UserAgent()
		body, ok := s.files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		n := atomic.AddInt32(s.hits[r.URL.Path], 1)
		if int(n) <= s.failFirst[r.URL.Path] {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte(body))
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// configure makes a data source whose retries pause 10ms, not a second.
func configure(t *testing.T, cfg map[string]interface{}) *Datasource {
	t.Helper()
	d := &Datasource{retryBackoff: 10 * time.Millisecond}
	if err := d.Configure(cfg); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestResolve_debianIndexOverHTTP(t *testing.T) {
	srv := newServer(t, map[string]string{"/images/bookworm/SHA512SUMS": debianSums})
	d := configure(t, map[string]interface{}{
		"index_url":   srv.URL + "/images/bookworm/SHA512SUMS",
		"name_regex":  `^debian-12-genericcloud-amd64(-(?P<version>[0-9-]+))?\.qcow2$`,
		"most_recent": true,
	})
	out, err := d.resolve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := DatasourceOutput{
		URL:      srv.URL + "/images/bookworm/debian-12-genericcloud-amd64-20240211-1654.qcow2",
		Checksum: "sha512:" + sha512hex("b"),
		Name:     "debian-12-genericcloud-amd64-20240211-1654.qcow2",
		Version:  "20240211-1654",
		IndexURL: srv.URL + "/images/bookworm/SHA512SUMS",
	}
	if out != want {
		t.Fatalf("got  %+v\nwant %+v", out, want)
	}
	if ua := <-srv.userAgents; !strings.HasPrefix(ua, "packer-plugin-kvm/") {
		t.Fatalf("User-Agent %q", ua)
	}
}

func TestResolve_namesResolveAgainstTheRedirectedIndex(t *testing.T) {
	srv := newServer(t, map[string]string{"/20240211-1654/SHA512SUMS": debianSums})
	d := configure(t, map[string]interface{}{"index_url": srv.URL + "/latest/SHA512SUMS", "name_glob": "debian-12-generic-amd64-*.tar.xz"})
	out, err := d.resolve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if out.URL != srv.URL+"/20240211-1654/debian-12-generic-amd64-20240211-1654.tar.xz" {
		t.Fatalf("url %s", out.URL)
	}
}

func TestResolve_retriesServerErrors(t *testing.T) {
	srv := newServer(t, map[string]string{"/SHA256SUMS": ubuntuSums})
	srv.failFirst["/SHA256SUMS"] = 2
	d := configure(t, map[string]interface{}{"index_url": srv.URL + "/SHA256SUMS", "name_regex": `amd64\.img$`})
	out, err := d.resolve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if out.Checksum != "sha256:"+sha256hex("noble") || atomic.LoadInt32(srv.hits["/SHA256SUMS"]) != 3 {
		t.Fatalf("checksum %s after %d requests", out.Checksum, *srv.hits["/SHA256SUMS"])
	}
}

func TestResolve_failures(t *testing.T) {
	srv := newServer(t, map[string]string{"/SHA256SUMS": ubuntuSums, "/page": "<html>hello</html>"})
	srv.failFirst["/SHA256SUMS"] = 100
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	cases := map[string]struct {
		index string
		want  []string
	}{
		"unreachable":    {closed.URL + "/SHA256SUMS", []string{closed.URL + "/SHA256SUMS", "connect"}},
		"not found":      {srv.URL + "/missing", []string{"404", "/missing"}},
		"keeps failing":  {srv.URL + "/SHA256SUMS", []string{"503"}},
		"not an index":   {srv.URL + "/page", []string{"no checksum line"}},
		"unknown scheme": {"ftp://mirror/SHA256SUMS", []string{"unsupported scheme"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			d := configure(t, map[string]interface{}{"index_url": tc.index, "name_regex": "img", "retries": 2})
			_, err := d.resolve(t.Context())
			for _, w := range tc.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Fatalf("error %v does not mention %q", err, w)
				}
			}
		})
	}
	if n := atomic.LoadInt32(srv.hits["/SHA256SUMS"]); n != 3 {
		t.Fatalf("retries = 2 made %d requests, want 3", n)
	}
}

func TestResolve_localIndexes(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "SHA256SUMS"), []byte(ubuntuSums), 0o644)
	for _, index := range []string{filepath.Join(dir, "SHA256SUMS"), "file://" + filepath.Join(dir, "SHA256SUMS")} {
		d := configure(t, map[string]interface{}{"index_url": index, "name_regex": `amd64\.img$`})
		out, err := d.resolve(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(out.URL, dir+"/noble-server-cloudimg-amd64.img") {
			t.Fatalf("index %s: url %s", index, out.URL)
		}
	}
}

func TestResolve_signatures(t *testing.T) {
	key := signingKey(t)
	other, _ := openpgp.NewEntity("Someone Else", "", "else@example.org", nil)
	signed := clearSigned(t, key, fedoraChecksum)
	tampered := strings.Replace(signed, sha256hex("f41"), sha256hex("evil"), 1)
	srv := newServer(t, map[string]string{
		"/signed/CHECKSUM":     signed,
		"/tampered/CHECKSUM":   tampered,
		"/plain/CHECKSUM":      fedoraChecksum,
		"/plain/CHECKSUM.asc":  detachedSignature(t, key, fedoraChecksum),
		"/plain/CHECKSUM.bad":  detachedSignature(t, key, fedoraChecksum+"\n"),
		"/plain/CHECKSUM.else": detachedSignature(t, other, fedoraChecksum),
	})
	pub := armoredPublicKey(t, key)
	cases := map[string]struct {
		index, signature, want string
	}{
		"clear-signed":           {"/signed/CHECKSUM", "", ""},
		"tampered clear-signed":  {"/tampered/CHECKSUM", "", "signature"},
		"detached":               {"/plain/CHECKSUM", "/plain/CHECKSUM.asc", ""},
		"detached, other text":   {"/plain/CHECKSUM", "/plain/CHECKSUM.bad", "signature"},
		"detached, other signer": {"/plain/CHECKSUM", "/plain/CHECKSUM.else", "other than public_key"},
		"unsigned with a key":    {"/plain/CHECKSUM", "", "not clear-signed"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := map[string]interface{}{"index_url": srv.URL + tc.index, "name_glob": "*.qcow2", "public_key": pub}
			if tc.signature != "" {
				cfg["signature_url"] = srv.URL + tc.signature
			}
			out, err := configure(t, cfg).resolve(t.Context())
			if tc.want == "" {
				if err != nil || out.Checksum != "sha256:"+sha256hex("f41") {
					t.Fatalf("out %+v err %v", out, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v does not mention %q", err, tc.want)
			}
		})
	}
}

func TestConfigure(t *testing.T) {
	cases := map[string]struct {
		cfg  map[string]interface{}
		want string
	}{
		"no index":         {map[string]interface{}{"name_regex": "x"}, "index_url is required"},
		"no pattern":       {map[string]interface{}{"index_url": "https://x/SUMS"}, "name_regex or name_glob is required"},
		"both patterns":    {map[string]interface{}{"index_url": "https://x/SUMS", "name_regex": "x", "name_glob": "x"}, "both set"},
		"bad regex":        {map[string]interface{}{"index_url": "https://x/SUMS", "name_regex": "(("}, "name_regex is not a valid RE2"},
		"bad glob":         {map[string]interface{}{"index_url": "https://x/SUMS", "name_glob": "[a"}, "name_glob"},
		"signature no key": {map[string]interface{}{"index_url": "https://x/SUMS", "name_glob": "x", "signature_url": "https://x/SUMS.gpg"}, "signature_url needs public_key"},
		"missing key file": {map[string]interface{}{"index_url": "https://x/SUMS", "name_glob": "x", "public_key_file": "/nonexistent.asc"}, "public_key_file"},
		"unknown argument": {map[string]interface{}{"index_url": "https://x/SUMS", "name_glob": "x", "most_recnt": true}, "most_recnt"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := (&Datasource{}).Configure(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v does not mention %q", err, tc.want)
			}
		})
	}
	// Configure never touches the network: an unreachable index is fine.
	if err := (&Datasource{}).Configure(map[string]interface{}{"index_url": "https://192.0.2.1/SUMS", "name_glob": "x"}); err != nil {
		t.Fatal(err)
	}
}

func TestExecute_returnsTheOutputObject(t *testing.T) {
	srv := newServer(t, map[string]string{"/SHA256SUMS": ubuntuSums})
	v, err := configure(t, map[string]interface{}{"index_url": srv.URL + "/SHA256SUMS", "name_regex": `amd64\.img$`}).Execute()
	if err != nil {
		t.Fatal(err)
	}
	if got := v.GetAttr("checksum").AsString(); got != "sha256:"+sha256hex("noble") {
		t.Fatalf("checksum attribute %s", got)
	}
	if got := v.GetAttr("url").AsString(); got != srv.URL+"/noble-server-cloudimg-amd64.img" {
		t.Fatalf("url attribute %s", got)
	}
}
