package export

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/kvmforge/packer-plugin-kvm/internal/diskcheck"
)

// qemuImg runs qemu-img, the one tool that reads and writes every format.
type qemuImg struct {
	Binary string
}

type imageInfo struct {
	Format      string `json:"format"`
	VirtualSize int64  `json:"virtual-size"`
}

func (q *qemuImg) info(ctx context.Context, path string) (*imageInfo, error) {
	out, err := exec.CommandContext(ctx, q.Binary, "info", "--output=json", "-U", path).Output()
	if err != nil {
		if exit, ok := err.(*exec.ExitError); ok {
			return nil, fmt.Errorf("qemu-img info %s: %s", path, strings.TrimSpace(string(exit.Stderr)))
		}
		return nil, fmt.Errorf("running %s: %w (install qemu-utils)", q.Binary, err)
	}
	var info imageInfo
	if err := json.Unmarshal(out, &info); err != nil {
		return nil, err
	}
	return &info, nil
}

var progressRE = regexp.MustCompile(`\((\d+(?:\.\d+)?)/100%\)`)

// convert runs `qemu-img convert -p` and calls progress with whole
// percentages as they advance.
func (q *qemuImg) convert(ctx context.Context, src, dst string, args []string, progress func(int)) error {
	full := append([]string{"convert", "-p"}, args...)
	full = append(full, src, dst)
	cmd := exec.CommandContext(ctx, q.Binary, full...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("running %s: %w (install qemu-utils)", q.Binary, err)
	}
	scanner := bufio.NewScanner(stdout)
	scanner.Split(splitOnCR)
	for scanner.Scan() {
		if m := progressRE.FindStringSubmatch(scanner.Text()); m != nil && progress != nil {
			pct, _ := strconv.ParseFloat(m[1], 64)
			progress(int(pct))
		}
	}
	if err := cmd.Wait(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("qemu-img convert to %s: %s", filepath.Base(dst), firstLine(stderr.String(), err.Error()))
	}
	return nil
}

// overlay makes a qcow2 on top of src with a new virtual size.
func (q *qemuImg) overlay(ctx context.Context, src, format, dst string, size int64) error {
	out, err := exec.CommandContext(ctx, q.Binary, "create", "-q", "-f", "qcow2", "-b", src, "-F", format, dst, strconv.FormatInt(size, 10)).CombinedOutput()
	if err != nil {
		return fmt.Errorf("qemu-img create: %s", strings.TrimSpace(string(out)))
	}
	return nil
}

func splitOnCR(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

func firstLine(s, fallback string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return fallback
	}
	return strings.SplitN(s, "\n", 2)[0]
}

// diskExtensions are file endings that name a disk image even when
// qemu-img can only call the content "raw".
var diskExtensions = []string{".qcow2", ".raw", ".img", ".vmdk", ".vhdx", ".vhd", ".vdi"}

// findDiskImage picks the artifact's disk image: the first file qemu-img
// recognizes as an image format, else the first raw file with a disk
// image's extension and a partition table (the builder's check: raw data
// without one is an error page, a compressed file or a text file).
func findDiskImage(ctx context.Context, q *qemuImg, files []string) (string, *imageInfo, error) {
	var rawCandidate, notADisk string
	var rawInfo *imageInfo
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		info, err := q.info(ctx, f)
		if err != nil {
			continue
		}
		if info.Format != "raw" {
			return f, info, nil
		}
		if !slices.Contains(diskExtensions, strings.ToLower(filepath.Ext(f))) || rawCandidate != "" {
			continue
		}
		if diskcheck.HasPartitionTable(f) {
			rawCandidate, rawInfo = f, info
		} else if notADisk == "" {
			notADisk = f
		}
	}
	switch {
	case rawCandidate != "":
		return rawCandidate, rawInfo, nil
	case notADisk != "":
		return "", nil, fmt.Errorf("%s is not a disk image: qemu-img sees raw data with no partition table (a download error page, a compressed file?)", notADisk)
	}
	return "", nil, fmt.Errorf("the input artifact has no disk image that qemu-img can read (files: %s)", strings.Join(files, ", "))
}
