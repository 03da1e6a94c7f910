package cloudimage

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// digestOf is the digest each fixture lists for a file: the hash of the
// file's own name, so that a name paired with a neighbour's digest shows.
func digestOf(algo, name string) string {
	if algo == "sha512" {
		h := sha512.Sum512([]byte(name))
		return "sha512:" + hex.EncodeToString(h[:])
	}
	h := sha256.Sum256([]byte(name))
	return "sha256:" + hex.EncodeToString(h[:])
}

// The fixtures in testdata/ follow the files each distribution publishes
// (names, spacing, comments, per-file or per-directory indexes); only the
// digests are made up. Where each shape comes from:
//   - Debian: cloud.debian.org/images/cloud/<release>/latest/SHA512SUMS,
//     `sha512sum` output, two spaces.
//   - Ubuntu: cloud-images.ubuntu.com/<release>/current/SHA256SUMS, binary
//     mode ("<hex> *<name>"); kubevirt/containerdisks artifacts/ubuntu/testdata.
//   - Fedora: .../Cloud/x86_64/images/Fedora-Cloud-41-1.4-x86_64-CHECKSUM,
//     BSD tags with "# <name>: <size> bytes" comments, clear-signed.
//   - CentOS Stream: cloud.centos.org/centos/9-stream/x86_64/images/CHECKSUM
//     and the per-image <image>.SHA256SUM, same BSD shape
//     (kubevirt/containerdisks artifacts/centosstream/testdata).
//   - Rocky: dl.rockylinux.org/pub/rocky/9/images/x86_64/CHECKSUM, BSD shape.
//   - AlmaLinux: repo.almalinux.org/almalinux/9/cloud/x86_64/images/CHECKSUM,
//     GNU lines, dated and "latest" names (kubevirt/containerdisks
//     artifacts/almalinux/testdata), clear-signed.
//   - openSUSE: download.opensuse.org/distribution/leap/15.6/appliances/
//     <image>.sha256 has ONE space between digest and name; Leap 16.0 and
//     Tumbleweed have two, and Tumbleweed's names the dated snapshot
//     (kubevirt/containerdisks artifacts/opensuse/*/testdata).
//   - Arch: geo.mirror.pkgbuild.com/images/latest/<image>.SHA256, written by
//     `sha256sum` in archlinux/arch-boxes build.sh, naming the dated build.
//   - Alpine: dl-cdn.alpinelinux.org/alpine/v3.20/releases/cloud/<image>.sha512
//     holds the digest alone (alpine-cloud-images writes hexdigest() to
//     <image>.sha512); releases/x86_64/<iso>.sha256 is `sha256sum` output.
//   - A mirror's copy edited on Windows: BOM, CRLF, tabs, trailing blanks,
//     upper-case hex, "./" and coreutils' backslash-escaped names.
func TestResolve_distributionIndexes(t *testing.T) {
	srv := httptest.NewServer(http.FileServer(http.Dir("testdata")))
	t.Cleanup(srv.Close)
	cases := []struct {
		name, index, pattern, algo, want string
	}{
		{"debian", "debian/SHA512SUMS", `^debian-12-genericcloud-amd64\.qcow2$`, "sha512", "debian/debian-12-genericcloud-amd64.qcow2"},
		{"ubuntu", "ubuntu/SHA256SUMS", `^noble-server-cloudimg-amd64\.img$`, "sha256", "ubuntu/noble-server-cloudimg-amd64.img"},
		{"fedora", "fedora/Fedora-Cloud-41-1.4-x86_64-CHECKSUM", `^Fedora-Cloud-Base-Generic-41-[0-9.]+\.x86_64\.qcow2$`, "sha256", "fedora/Fedora-Cloud-Base-Generic-41-1.4.x86_64.qcow2"},
		{"centos stream directory", "centos-stream/CHECKSUM", `^CentOS-Stream-GenericCloud-9-(?P<version>[0-9.]+)\.x86_64\.qcow2$`, "sha256", "centos-stream/CentOS-Stream-GenericCloud-9-20241118.0.x86_64.qcow2"},
		{"centos stream per image", "centos-stream/CentOS-Stream-GenericCloud-9-latest.x86_64.qcow2.SHA256SUM", `\.qcow2$`, "sha256", "centos-stream/CentOS-Stream-GenericCloud-9-20241118.0.x86_64.qcow2"},
		{"rocky", "rocky/CHECKSUM", `^Rocky-9-GenericCloud-Base-(?P<version>[0-9.-]+)\.x86_64\.qcow2$`, "sha256", "rocky/Rocky-9-GenericCloud-Base-9.5-20241118.0.x86_64.qcow2"},
		{"almalinux", "almalinux/CHECKSUM", `^AlmaLinux-9-GenericCloud-(?P<version>9\.[0-9]+-[0-9]+)\.x86_64\.qcow2$`, "sha256", "almalinux/AlmaLinux-9-GenericCloud-9.5-20241120.x86_64.qcow2"},
		{"opensuse leap 15.6, one space", "opensuse/openSUSE-Leap-15.6-Minimal-VM.x86_64-Cloud.qcow2.sha256", `Cloud\.qcow2$`, "sha256", "opensuse/openSUSE-Leap-15.6-Minimal-VM.x86_64-Cloud.qcow2"},
		{"opensuse leap 16.0", "opensuse/Leap-16.0-Minimal-VM.x86_64-Cloud.qcow2.sha256", `Cloud\.qcow2$`, "sha256", "opensuse/Leap-16.0-Minimal-VM.x86_64-Cloud.qcow2"},
		{"opensuse tumbleweed", "opensuse/openSUSE-Tumbleweed-Minimal-VM.x86_64-Cloud.qcow2.sha256", `Cloud-Snapshot[0-9]+\.qcow2$`, "sha256", "opensuse/openSUSE-Tumbleweed-Minimal-VM.x86_64-1.0.0-Cloud-Snapshot20241120.qcow2"},
		{"arch", "arch/Arch-Linux-x86_64-cloudimg.qcow2.SHA256", `^Arch-Linux-x86_64-cloudimg-[0-9.]+\.qcow2$`, "sha256", "arch/Arch-Linux-x86_64-cloudimg-20241115.280155.qcow2"},
		{"alpine cloud, digest alone", "alpine/nocloud_alpine-3.20.3-x86_64-bios-cloudinit-r0.qcow2.sha512", `^nocloud_alpine-.*\.qcow2$`, "sha512", "alpine/nocloud_alpine-3.20.3-x86_64-bios-cloudinit-r0.qcow2"},
		{"alpine iso", "alpine/alpine-virt-3.20.3-x86_64.iso.sha256", `\.iso$`, "sha256", "alpine/alpine-virt-3.20.3-x86_64.iso"},
		{"mirror crlf, tab and upper case", "mirror-crlf/SHA256SUMS", `^odd-a\.qcow2$`, "sha256", "mirror-crlf/odd-a.qcow2"},
		{"mirror crlf, ./ binary mode", "mirror-crlf/SHA256SUMS", `^odd-b\.qcow2$`, "sha256", "mirror-crlf/odd-b.qcow2"},
		{"mirror crlf, escaped name", "mirror-crlf/SHA256SUMS", `^odd.c\.qcow2$`, "sha256", `mirror-crlf/odd%5Cc.qcow2`},
		{"mirror crlf, bsd without blanks", "mirror-crlf/SHA256SUMS", `^odd-d\.qcow2$`, "sha256", "mirror-crlf/odd-d.qcow2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := configure(t, map[string]interface{}{
				"index_url": srv.URL + "/" + tc.index, "name_regex": tc.pattern, "most_recent": true,
			}).resolve(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if out.URL != srv.URL+"/"+tc.want || out.Checksum != digestOf(tc.algo, out.Name) {
				t.Fatalf("url %s checksum %s\nwant url %s/%s and the %s of %q", out.URL, out.Checksum, srv.URL, tc.want, tc.algo, out.Name)
			}
		})
	}
}

// Fedora and AlmaLinux clear-sign their CHECKSUM files: the same fixtures,
// signed, verify and read the same.
func TestResolve_clearSignedDistributionIndexes(t *testing.T) {
	key := signingKey(t)
	files := map[string]string{}
	for _, f := range []string{"fedora/Fedora-Cloud-41-1.4-x86_64-CHECKSUM", "almalinux/CHECKSUM"} {
		data, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		files["/"+f] = clearSigned(t, key, string(data))
	}
	srv := newServer(t, files)
	for f := range files {
		out, err := configure(t, map[string]interface{}{
			"index_url": srv.URL + f, "name_regex": `GenericCloud-9\.5|Generic-41`, "public_key": armoredPublicKey(t, key),
		}).resolve(t.Context())
		if err != nil || out.Checksum != digestOf("sha256", out.Name) || !strings.HasSuffix(out.Name, ".qcow2") {
			t.Fatalf("%s: %+v %v", f, out, err)
		}
	}
}
