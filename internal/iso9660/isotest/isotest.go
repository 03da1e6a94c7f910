// Package isotest reads ISO 9660 images back for tests with go-diskfs's
// reader, so that what a test checks does not depend on the bookkeeping
// of the writer (internal/iso9660) it tests.
package isotest

import (
	"io"
	"os"
	"strings"
	"testing"

	"github.com/diskfs/go-diskfs"
)

// Read returns image's volume label and the contents of the named files
// (paths from the image's root, such as "/meta-data"). A file that is not
// in the image fails the test.
func Read(t testing.TB, image string, names ...string) (string, map[string]string) {
	t.Helper()
	img, err := diskfs.Open(image, diskfs.WithOpenMode(diskfs.ReadOnly))
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	fs, err := img.GetFilesystem(0)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, name := range names {
		f, err := fs.OpenFile(name, os.O_RDONLY)
		if err != nil {
			t.Fatalf("%s is not in %s: %v", name, image, err)
		}
		data, err := io.ReadAll(f)
		if err != nil {
			t.Fatalf("reading %s from %s: %v", name, image, err)
		}
		files[name] = string(data)
	}
	return strings.TrimRight(fs.Label(), "\x00 "), files
}
