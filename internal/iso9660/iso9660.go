// Package iso9660 writes ISO9660 images (with Rock Ridge and Joliet names)
// in Go, for the cloud-init seed and the cd_files CD: no xorriso or
// genisoimage is needed on the host.
package iso9660

import (
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/disk"
	"github.com/diskfs/go-diskfs/filesystem"
	diskiso "github.com/diskfs/go-diskfs/filesystem/iso9660"
)

// File is one file of an ISO9660 volume.
type File struct {
	// Name is the file's slash-separated path in the volume.
	Name string
	// Content is the file's data, unless Source is set.
	Content []byte
	// Source is the host file the data is copied from.
	Source string
}

// isoOverhead covers the volume descriptors, path tables and directory
// records of a small volume.
const isoOverhead = 1 << 20

// Write writes files into a new ISO9660 image at dest, labelled label,
// with Rock Ridge and Joliet names (so names keep their case and dashes on
// every guest), in Go: no xorriso or genisoimage is needed on the host.
func Write(dest, label string, files []File) error {
	workspace, err := os.MkdirTemp(filepath.Dir(dest), ".iso-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(workspace)

	size := int64(isoOverhead)
	for _, f := range files {
		n := int64(len(f.Content))
		if f.Source != "" {
			info, err := os.Stat(f.Source)
			if err != nil {
				return err
			}
			n = info.Size()
		}
		size += (n/2048 + 2) * 2048
	}
	img, err := diskfs.Create(dest, size, diskfs.SectorSizeDefault)
	if err != nil {
		return err
	}
	defer img.Close()
	img.LogicalBlocksize = 2048
	fs, err := img.CreateFilesystem(disk.FilesystemSpec{FSType: filesystem.TypeISO9660, VolumeLabel: label, WorkDir: workspace})
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := addFile(fs, f); err != nil {
			return fmt.Errorf("adding %s: %w", f.Name, err)
		}
	}
	iso, ok := fs.(*diskiso.FileSystem)
	if !ok {
		return fmt.Errorf("unexpected filesystem type %T", fs)
	}
	return iso.Finalize(diskiso.FinalizeOptions{RockRidge: true, Joliet: true, VolumeIdentifier: label})
}

func addFile(fs filesystem.FileSystem, f File) error {
	name := "/" + strings.TrimLeft(path.Clean("/"+f.Name), "/")
	if dir := path.Dir(name); dir != "/" {
		if err := fs.Mkdir(dir); err != nil {
			return err
		}
	}
	out, err := fs.OpenFile(name, os.O_CREATE|os.O_RDWR)
	if err != nil {
		return err
	}
	if f.Source == "" {
		_, err = out.Write(f.Content)
		return err
	}
	in, err := os.Open(f.Source)
	if err != nil {
		return err
	}
	defer in.Close()
	_, err = io.Copy(out, in)
	return err
}

// FilesFrom lists what host paths and named contents put on a volume, as
// the Packer SDK's CD step does with cd_files and cd_content: a file goes
// to the root under its own name; a directory keeps its name, or with a
// trailing slash gives only its contents; a content key is the path of a
// file with that content.
func FilesFrom(paths []string, content map[string]string) ([]File, error) {
	var files []File
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			files = append(files, File{Name: filepath.Base(p), Source: p})
			continue
		}
		prefix := filepath.Base(p)
		if strings.HasSuffix(p, "/") || strings.HasSuffix(p, string(filepath.Separator)) {
			prefix = ""
		}
		err = filepath.Walk(p, func(walked string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() {
				return err
			}
			rel, err := filepath.Rel(p, walked)
			if err != nil {
				return err
			}
			files = append(files, File{Name: path.Join(prefix, filepath.ToSlash(rel)), Source: walked})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	names := make([]string, 0, len(content))
	for name := range content {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		files = append(files, File{Name: filepath.ToSlash(name), Content: []byte(content[name])})
	}
	return files, nil
}
