package cloudimage

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/kvmforge/packer-plugin-kvm/internal/packertest"
)

func TestMain(m *testing.M) { packertest.Main(m) }

// A local HTTP server publishes the test image with an index, the data
// source resolves it, and the kvm builder downloads, verifies and boots it.
// A second build finds the image in Packer's cache.
func TestAccCloudImage_feedsTheKVMBuilder(t *testing.T) {
	env := packertest.Setup(t)
	f, err := os.Open(env.Image)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	io.Copy(h, f)
	f.Close()
	const name = "debian-12-genericcloud-amd64-20261122-0001.qcow2"
	index := hex.EncodeToString(h.Sum(nil)) + " *" + name + "\n" +
		strings.Repeat("0", 64) + " *debian-12-genericcloud-amd64-20250101-0001.qcow2\n"

	// Downloads are GETs of the image's bytes; the downloader's HEAD
	// requests to look the file up do not count.
	var imageGets int32
	var requests []string
	var mu sync.Mutex
	mux := http.NewServeMux()
	mux.HandleFunc("/cloud/SHA256SUMS", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, index) })
	mux.HandleFunc("/cloud/"+name, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests = append(requests, r.Method+" "+r.Header.Get("Range"))
		mu.Unlock()
		if r.Method == http.MethodGet {
			atomic.AddInt32(&imageGets, 1)
		}
		http.ServeFile(w, r, env.Image)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	template := fmt.Sprintf(`
data "kvm-cloudimage" "debian" {
  index_url   = "%s/cloud/SHA256SUMS"
  name_regex  = "^debian-12-genericcloud-amd64-(?P<version>[0-9-]+)\\.qcow2$"
  most_recent = true
}

source "kvm" "cloud" {
  source_image_url      = data.kvm-cloudimage.debian.url
  source_image_checksum = data.kvm-cloudimage.debian.checksum
  ssh_username          = "packer"
  memory                = 1024
}

build {
  sources = ["source.kvm.cloud"]
  provisioner "shell" { inline = ["echo RESOLVED=${data.kvm-cloudimage.debian.version}"] }
}
`, srv.URL)
	dir := packertest.WriteTemplate(t, template)
	first := env.Run(t, dir, "build", ".")
	if first.ExitCode != 0 {
		t.Fatal("first build failed")
	}
	if !strings.Contains(first.Output, "RESOLVED=20261122-0001") || atomic.LoadInt32(&imageGets) != 1 {
		t.Fatalf("first build: resolved version missing or image fetched %d times (requests: %v)", imageGets, requests)
	}

	os.RemoveAll(dir + "/output-cloud")
	second := env.Run(t, dir, "build", ".")
	if second.ExitCode != 0 {
		t.Fatal("second build failed")
	}
	if n := atomic.LoadInt32(&imageGets); n != 1 {
		t.Fatalf("the second build downloaded the image again (%d downloads in all; requests: %v)", n, requests)
	}
	// The log shows the image taken from Packer's cache directory.
	if !strings.Contains(second.Output, "=> "+env.CacheDir) {
		t.Fatalf("the second build's log does not show the cached file in %s", env.CacheDir)
	}
}
