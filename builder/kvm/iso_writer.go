package kvm

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
	"github.com/diskfs/go-diskfs/filesystem/iso9660"
)

// isoFile is one file of an ISO9660 volume: its slash-separated path in
// the volume, and its content or the host file it is copied from.
type isoFile struct {
	Name    string
	Content []byte
	Source  string
}

// isoOverhead covers the volume descriptors, path tables and directory
// records of a small volume.
const isoOverhead = 1 << 20

// writeISO writes files into a new ISO9660 image at path with Rock Ridge
// and Joliet names (so names keep their case and dashes on every guest),
// in Go: no xorriso or genisoimage is needed on the host.
func writeISO(dest, label string, files []isoFile) error {
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
		if err := addISOFile(fs, f); err != nil {
			return fmt.Errorf("adding %s: %w", f.Name, err)
		}
	}
	iso, ok := fs.(*iso9660.FileSystem)
	if !ok {
		return fmt.Errorf("unexpected filesystem type %T", fs)
	}
	return iso.Finalize(iso9660.FinalizeOptions{RockRidge: true, Joliet: true, VolumeIdentifier: label})
}

func addISOFile(fs filesystem.FileSystem, f isoFile) error {
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

// cdFiles lists what cd_files and cd_content put on the CD, as the SDK's
// CD step does: a file goes to the root under its own name; a directory
// keeps its name, or with a trailing slash gives only its contents; a
// cd_content key is the path of a file with that content.
func cdFiles(paths []string, content map[string]string) ([]isoFile, error) {
	var files []isoFile
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			files = append(files, isoFile{Name: filepath.Base(p), Source: p})
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
			files = append(files, isoFile{Name: path.Join(prefix, filepath.ToSlash(rel)), Source: walked})
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
		files = append(files, isoFile{Name: filepath.ToSlash(name), Content: []byte(content[name])})
	}
	return files, nil
}
