package qemuimg

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// A disk image may make qemu-img and QEMU open other files: a backing
// file (qcow2, qcow, qed, vmdk's parent), a qcow2 external data file, the
// extents a VMDK descriptor lists, or a `json:` pseudo-filename that
// describes a whole block graph. An image from elsewhere that names
// /etc/shadow that way reads it as its disk. The checks below refuse any
// of them (SelfContained), or accept exactly one expected backing file
// (OverlayOf).

// FormatSpecific is the part of `qemu-img info`'s format-specific object
// that names other files.
type FormatSpecific struct {
	Type string `json:"type"`
	Data struct {
		// DataFile is a qcow2 image's external data file.
		DataFile string `json:"data-file"`
		// Extents are a VMDK's extents, each a file.
		Extents []struct {
			Filename string `json:"filename"`
		} `json:"extents"`
	} `json:"data"`
}

// selfContainedFormats are the image formats whose only ways to name
// another file are the ones References reads. Others (luks, quorum,
// blkdebug, ... reachable through json: names) are refused.
var selfContainedFormats = []string{
	"raw", "qcow2", "qcow", "qed", "vmdk", "vdi", "vhdx", "vpc",
	"parallels", "dmg", "bochs", "cloop",
}

// ParseInfo reads `qemu-img info --output=json` of one image.
func ParseInfo(data []byte) (*Info, error) {
	var info Info
	if err := json.Unmarshal(data, &info); err != nil {
		return nil, err
	}
	return &info, nil
}

// References lists, for people, every other file the image at path (as
// given to qemu-img, absolute) makes qemu-img or QEMU open, and anything
// that keeps its content from being its own file's alone: empty when the
// image is self-contained.
func (i *Info) References(path string) []string {
	var refs []string
	if strings.HasPrefix(i.Filename, "json:") {
		refs = append(refs, fmt.Sprintf("a json: pseudo-filename (%s)", clip(i.Filename)))
	} else if i.Filename != "" && path != "" && filepath.Clean(i.Filename) != filepath.Clean(path) {
		refs = append(refs, fmt.Sprintf("the file %s instead of %s", clip(i.Filename), path))
	}
	for _, b := range uniq(i.BackingFile, i.FullBackingFile) {
		refs = append(refs, "backing file "+clip(b))
	}
	if i.FormatSpecific != nil {
		if f := i.FormatSpecific.Data.DataFile; f != "" {
			refs = append(refs, "external data file "+clip(f))
		}
		for _, x := range i.FormatSpecific.Data.Extents {
			if !sameFile(x.Filename, path) {
				refs = append(refs, "VMDK extent "+clip(x.Filename))
			}
		}
	}
	if !slices.Contains(selfContainedFormats, i.Format) {
		refs = append(refs, fmt.Sprintf("format %q, which the plugin does not read (use qcow2, raw, vmdk, vhdx, vhd or vdi)", clip(i.Format)))
	}
	return refs
}

// sameFile tells whether an extent's filename (absolute, or relative to
// the descriptor's directory) is the image file itself.
func sameFile(extent, path string) bool {
	if extent == "" || strings.HasPrefix(extent, "json:") {
		return false
	}
	if !filepath.IsAbs(extent) {
		extent = filepath.Join(filepath.Dir(path), extent)
	}
	return filepath.Clean(extent) == filepath.Clean(path)
}

func uniq(a, b string) []string {
	switch {
	case a == "" && b == "":
		return nil
	case a == "" || a == b:
		return []string{b}
	case b == "":
		return []string{a}
	}
	return []string{a, b}
}

// clip keeps a hostile name from flooding a message.
func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

// NotSelfContainedError is an image that refers to other files.
type NotSelfContainedError struct {
	Path       string
	Format     string
	References []string
}

func (e *NotSelfContainedError) Error() string {
	return fmt.Sprintf("%s (%s) is not a self-contained image: it refers to %s; "+
		"an image may not name other files, which qemu-img and QEMU would read as its disk "+
		"(flatten it first: qemu-img convert -O qcow2 <image> <standalone.qcow2>)",
		e.Path, e.Format, strings.Join(e.References, ", "))
}

// Inspector runs `qemu-img info` on one image: a Runner, or a fake in
// tests.
type Inspector interface {
	// InfoAs describes the image at path read as format ("" lets
	// qemu-img probe the format).
	InfoAs(ctx context.Context, path, format string) (*Info, error)
}

// SelfContained describes the image at path, read as format (which a
// caller that knows it must give: a file probed as raw can hold another
// format's header, written by a guest), and refuses it when it refers to
// any other file. The path is made absolute first, so that a file named
// `json:...` or `proto:...` is read as a file.
func SelfContained(ctx context.Context, q Inspector, path, format string) (*Info, error) {
	path, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	info, err := q.InfoAs(ctx, path, format)
	if err != nil {
		return nil, err
	}
	if refs := info.References(path); len(refs) > 0 {
		return nil, &NotSelfContainedError{Path: path, Format: info.Format, References: refs}
	}
	return info, nil
}

// OverlayOf describes the qcow2 image at path, which must refer to one
// other file only: backing, its backing file, with a recorded backing
// format, and backing itself self-contained. It is the one chain the
// plugin makes, the kvm builder's output_mode = "overlay".
func OverlayOf(ctx context.Context, q Inspector, path, backing string) (*Info, error) {
	path, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	info, err := q.InfoAs(ctx, path, "qcow2")
	if err != nil {
		return nil, err
	}
	if info.FullBackingFile == "" || filepath.Clean(info.FullBackingFile) != filepath.Clean(backing) || info.BackingFormat == "" {
		refs := info.References(path)
		if info.FullBackingFile == "" {
			refs = append(refs, "no backing file (the builder's overlay has "+backing+")")
		} else if info.BackingFormat == "" {
			refs = append(refs, "a backing file without a recorded format")
		}
		return nil, &NotSelfContainedError{Path: path, Format: info.Format, References: refs}
	}
	own := *info
	own.BackingFile, own.FullBackingFile = "", ""
	if refs := own.References(path); len(refs) > 0 {
		return nil, &NotSelfContainedError{Path: path, Format: info.Format, References: refs}
	}
	if _, err := SelfContained(ctx, q, backing, info.BackingFormat); err != nil {
		return nil, fmt.Errorf("the backing file of %s: %w", path, err)
	}
	return info, nil
}
