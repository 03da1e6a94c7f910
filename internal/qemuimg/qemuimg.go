// Package qemuimg is the plugin's one layer over qemu-img, the tool that
// reads and writes every disk format: the builder's driver and the
// kvm-export post-processor both run it through here.
package qemuimg

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Runner runs one qemu-img binary. Every call ends when its context does.
type Runner struct {
	Binary string
}

// New returns a Runner for binary ("qemu-img" when empty).
func New(binary string) *Runner {
	return &Runner{Binary: cmp.Or(binary, "qemu-img")}
}

// Info is the part of `qemu-img info --output=json` the plugin uses.
type Info struct {
	// Filename is the image's name as qemu-img read it.
	Filename    string `json:"filename"`
	Format      string `json:"format"`
	VirtualSize int64  `json:"virtual-size"`
	BackingFile string `json:"backing-filename"`
	// FullBackingFile is BackingFile resolved from the image's directory.
	FullBackingFile string `json:"full-backing-filename"`
	BackingFormat   string `json:"backing-filename-format"`
	// FormatSpecific names the files a qcow2 (external data file) or a
	// VMDK (extents) reads besides a backing file.
	FormatSpecific *FormatSpecific `json:"format-specific"`
}

// run runs qemu-img with args and returns its standard output. A failure
// names the subcommand and qemu-img's own first words on stderr; a
// cancelled context returns the context's error.
func (r *Runner) run(ctx context.Context, args ...string) ([]byte, error) {
	log.Printf("[DEBUG] %s %s", r.Binary, strings.Join(args, " "))
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, r.Binary, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, r.failure(args[0], stderr.String(), err)
	}
	return stdout.Bytes(), nil
}

// failure explains a run that did not succeed: a binary that could not
// start names the package to install.
func (r *Runner) failure(subcommand, stderr string, err error) error {
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		return fmt.Errorf("running %s: %w (install qemu-utils)", r.Binary, err)
	}
	return fmt.Errorf("qemu-img %s: %s", subcommand, cmp.Or(strings.TrimSpace(stderr), err.Error()))
}

// Info describes the image at path, whose format qemu-img probes. -U
// reads an image another process (a running QEMU) holds open. Before
// trusting an image from elsewhere, see SelfContained.
func (r *Runner) Info(ctx context.Context, path string) (*Info, error) {
	return r.InfoAs(ctx, path, "")
}

// InfoAs describes the image at path read as format ("" probes it).
// qemu-img info opens no backing file.
func (r *Runner) InfoAs(ctx context.Context, path, format string) (*Info, error) {
	args := []string{"info", "--output=json", "-U"}
	if format != "" {
		args = append(args, "-f", format)
	}
	out, err := r.run(ctx, append(args, fileArg(path))...)
	if err != nil {
		return nil, err
	}
	info, err := ParseInfo(out)
	if err != nil {
		return nil, fmt.Errorf("reading qemu-img info of %s: %w", path, err)
	}
	return info, nil
}

// fileArg keeps qemu-img from reading a relative path that starts with a
// protocol prefix (`json:{...}`, `nbd:`, ...) as anything but a file.
func fileArg(path string) string {
	if path == "" || filepath.IsAbs(path) {
		return path
	}
	return "." + string(filepath.Separator) + path
}

// Check runs `qemu-img check` and returns why the image is damaged, or
// nil. qemu-img check exits 0 for a clean image, 3 for leaked clusters
// only (harmless), 63 for a format it cannot check, 2 for corruption and
// 1 when the check itself could not finish (such as metadata pointing
// past the end of a truncated file).
func (r *Runner) Check(ctx context.Context, path, format string) error {
	args := []string{"check", "-U", "--output=json", "-f", format, fileArg(path)}
	log.Printf("[DEBUG] %s %s", r.Binary, strings.Join(args, " "))
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, r.Binary, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case !errors.As(err, &exit):
		return r.failure("check", "", err)
	case exit.ExitCode() == 3 || exit.ExitCode() == 63:
		return nil
	}
	var report struct {
		Corruptions int `json:"corruptions"`
		CheckErrors int `json:"check-errors"`
	}
	_ = json.Unmarshal(stdout.Bytes(), &report)
	first, _, _ := strings.Cut(strings.TrimSpace(stderr.String()), "\n")
	return fmt.Errorf("qemu-img check found %d corruptions and %d check errors (exit %d): %s",
		report.Corruptions, report.CheckErrors, exit.ExitCode(), cmp.Or(first, "no details"))
}

// CreateOverlay creates a qcow2 image at path backed by backing (of
// format backingFormat) with the given virtual size (0 keeps the backing
// image's size).
func (r *Runner) CreateOverlay(ctx context.Context, backing, backingFormat, path string, size int64) error {
	args := []string{"create", "-q", "-f", "qcow2", "-b", backing, "-F", backingFormat, fileArg(path)}
	if size > 0 {
		args = append(args, strconv.FormatInt(size, 10))
	}
	_, err := r.run(ctx, args...)
	return err
}

// CreateBlank creates an empty qcow2 image of size bytes at path.
func (r *Runner) CreateBlank(ctx context.Context, path string, size int64) error {
	_, err := r.run(ctx, "create", "-q", "-f", "qcow2", fileArg(path), strconv.FormatInt(size, 10))
	return err
}

// Rebase points the qcow2 image at path to a new backing file without
// copying data (`rebase -u`): the caller knows both hold the same content.
func (r *Runner) Rebase(ctx context.Context, path, backing, backingFormat string) error {
	_, err := r.run(ctx, "rebase", "-u", "-f", "qcow2", "-b", backing, "-F", backingFormat, fileArg(path))
	return err
}

// DataBytes is how much of the image holds data, from `qemu-img map`.
func (r *Runner) DataBytes(ctx context.Context, path string) (int64, error) {
	out, err := r.run(ctx, "map", "--output=json", fileArg(path))
	if err != nil {
		return 0, err
	}
	var extents []struct {
		Length int64 `json:"length"`
		Data   bool  `json:"data"`
	}
	if err := json.Unmarshal(out, &extents); err != nil {
		return 0, fmt.Errorf("reading qemu-img map of %s: %w", path, err)
	}
	var n int64
	for _, x := range extents {
		if x.Data {
			n += x.Length
		}
	}
	return n, nil
}

// OutputOptions are qemu-img convert's options for writing format, with
// qcow2's own cluster compression ("zstd" or "zlib"; "" or "none" for
// none) when format is qcow2.
func OutputOptions(format, qcow2Compression string) []string {
	opts := []string{"-O", format}
	if format == "qcow2" && qcow2Compression != "" && qcow2Compression != "none" {
		opts = append(opts, "-c", "-o", "compression_type="+qcow2Compression)
	}
	return opts
}

var progressRE = regexp.MustCompile(`\((\d+(?:\.\d+)?)/100%\)`)

// Convert runs `qemu-img convert -p` with options (such as those of
// OutputOptions) from src to dst, and calls progress (when not nil) with
// whole percentages as they advance.
func (r *Runner) Convert(ctx context.Context, src, dst string, options []string, progress func(int)) error {
	args := append(append([]string{"convert", "-p"}, options...), fileArg(src), fileArg(dst))
	log.Printf("[DEBUG] %s %s", r.Binary, strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, r.Binary, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return r.failure("convert", "", err)
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
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			return r.failure("convert", "", err)
		}
		first, _, _ := strings.Cut(strings.TrimSpace(stderr.String()), "\n")
		return fmt.Errorf("qemu-img convert to %s: %s", filepath.Base(dst), cmp.Or(first, err.Error()))
	}
	return nil
}

// splitOnCR splits qemu-img's progress output, which redraws one line
// with carriage returns.
func splitOnCR(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}
