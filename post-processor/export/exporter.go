package export

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
	"golang.org/x/sync/errgroup"

	"github.com/kvmforge/packer-plugin-kvm/internal/diskcheck"
	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
	"github.com/kvmforge/packer-plugin-kvm/internal/qemuimg"
)

// Output is one written file of the export.
type Output struct {
	Path   string
	Format string
	SHA256 string
	// Sum is the digest listed in the checksum file (sha256 or sha512).
	Sum string
}

// exporter converts one source image to every planned target.
type exporter struct {
	QemuImg    imageTool
	UI         packersdk.Ui
	Source     string
	SourceInfo *qemuimg.Info
	Force      bool
	Parallel   int
	Checksum   string // sha256 | sha512 | none
	// Perm is the outputs' mode (outputPerm): never more open than the
	// source's.
	Perm os.FileMode
	// DiskFormat is the format the artifact's additional disks are read
	// as ("" probes them).
	DiskFormat string
	// Identity derives the outputs' identifiers and times; nil leaves
	// qemu-img's (the unit tests' fake qemu-img writes no real formats).
	Identity *identity
	// FreeSpace tells the free bytes of a directory's file system, and
	// whether it could; nil is freeBytes (tests fake a nearly full disk).
	FreeSpace func(dir string) (int64, bool)
}

// run converts the targets, at most Parallel at once. On any failure the
// others are cancelled and nothing of the export is left behind.
func (e *exporter) run(ctx context.Context, plans []plannedOutput, outDir string) ([]Output, string, error) {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, "", e.explainNoSpace(err, outDir, outDir)
	}
	outputs := make([]Output, len(plans))
	// Each target's error is kept in its place: firstError reports the
	// first real failure in plan order, not whichever returned first.
	errs := make([]error, len(plans))
	// A failure cancels convCtx, and with it the other targets; convCtx
	// ends when Wait returns.
	g, convCtx := errgroup.WithContext(ctx)
	g.SetLimit(e.Parallel)
	for i, p := range plans {
		g.Go(func() error {
			if err := convCtx.Err(); err != nil {
				errs[i] = err
				return err
			}
			out, err := e.one(convCtx, p)
			var noSpace *noSpaceError
			if err != nil && !errors.As(err, &noSpace) {
				err = fmt.Errorf("%s: %w", filepath.Base(p.Path), err)
			}
			if err != nil {
				errs[i] = err
				return err
			}
			outputs[i] = out
			return nil
		})
	}
	_ = g.Wait()
	if err := firstError(errs); err != nil {
		// Targets that finished before the failure are removed too: an
		// export is whole or absent.
		for _, o := range outputs {
			if o.Path != "" {
				os.Remove(o.Path)
			}
		}
		return nil, "", err
	}
	if e.Checksum == "none" {
		return outputs, "", nil
	}
	sumFile := filepath.Join(outDir, strings.ToUpper(e.Checksum)+"SUMS")
	if err := writeChecksums(sumFile, outputs); err != nil {
		for _, o := range outputs {
			os.Remove(o.Path)
		}
		return nil, "", e.explainNoSpace(err, outDir, sumFile)
	}
	return outputs, sumFile, nil
}

func firstError(errs []error) error {
	var cancelled error
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
		if err != nil {
			cancelled = err
		}
	}
	return cancelled
}

// one writes one target in a private work directory beside its final
// path, under its final file name (a VMDK's descriptor records the name it
// was written as), and renames it into place.
func (e *exporter) one(ctx context.Context, p plannedOutput) (_ Output, err error) {
	t := p.Target
	workDir, err := os.MkdirTemp(filepath.Dir(p.Path), "."+filepath.Base(p.Path)+".*.tmp")
	if err != nil {
		return Output{}, e.explainNoSpace(err, filepath.Dir(p.Path), p.Path)
	}
	defer os.RemoveAll(workDir)
	// Runs before the removal above: the full file system is still full.
	defer func() { err = e.explainNoSpace(err, filepath.Dir(p.Path), p.Path) }()
	tempFile := func(pattern string) (string, error) {
		f, err := os.CreateTemp(workDir, pattern)
		if err != nil {
			return "", err
		}
		return f.Name(), f.Close()
	}
	final := filepath.Join(workDir, filepath.Base(p.Path))
	if err := os.WriteFile(final, nil, 0o600); err != nil {
		return Output{}, err
	}

	source, sourceFormat := e.Source, e.SourceInfo.Format
	if t.Format == "vhd" && t.Fixed && e.SourceInfo.VirtualSize%(1<<20) != 0 {
		// Azure takes only whole MiB; grow the disk through an overlay.
		grown, err := tempFile(".vhd-grow-*.qcow2")
		if err != nil {
			return Output{}, err
		}
		size := (e.SourceInfo.VirtualSize + 1<<20 - 1) &^ (1<<20 - 1)
		if err := e.QemuImg.CreateOverlay(ctx, e.Source, e.SourceInfo.Format, grown, size); err != nil {
			return Output{}, err
		}
		source, sourceFormat = grown, "qcow2"
	}
	// qemu-img reads the source in the format it was checked as: never
	// probed again.
	readAs := []string{"-f", sourceFormat}

	start := time.Now()
	progress := e.progress(filepath.Base(p.Path))
	var sums map[string]string
	switch {
	case t.Format == "gce":
		raw, err := tempFile(".gce-*.raw")
		if err != nil {
			return Output{}, err
		}
		if err := e.QemuImg.Convert(ctx, source, raw, append(readAs, "-O", "raw"), progress); err != nil {
			return Output{}, err
		}
		if err := prepareGCEDisk(raw); err != nil {
			return Output{}, err
		}
		sums, err = writeGCETarball(ctx, raw, final, e.outputTime(), e.Checksum == "sha512")
		if err != nil {
			return Output{}, err
		}
	case t.Format == "ova":
		if sums, err = e.writeOVA(ctx, source, sourceFormat, final, p, progress); err != nil {
			return Output{}, err
		}
	case outerCompression(t):
		// Named as it will be once decompressed: a VMDK records its name.
		img := filepath.Join(workDir, strings.TrimSuffix(filepath.Base(p.Path), extension(t))+extension(Target{Format: t.Format}))
		if err := e.convert(ctx, t, source, sourceFormat, img, filepath.Base(img), 0, progress); err != nil {
			return Output{}, err
		}
		sums, err = compressFile(ctx, img, final, t.Compression, e.Checksum == "sha512")
		if err != nil {
			return Output{}, err
		}
	default:
		if err := e.convert(ctx, t, source, sourceFormat, final, filepath.Base(final), 0, progress); err != nil {
			return Output{}, err
		}
		if sums, err = digestFile(final, e.Checksum == "sha512"); err != nil {
			return Output{}, err
		}
	}
	if err := syncAndPublish(final, p.Path, e.Force, e.Perm); err != nil {
		return Output{}, err
	}
	e.UI.Say(fmt.Sprintf("%s written in %s", p.Path, time.Since(start).Round(100*time.Millisecond)))
	sum := sums["sha256"]
	if e.Checksum == "sha512" {
		sum = sums["sha512"]
	}
	return Output{Path: p.Path, Format: t.Format, SHA256: sums["sha256"], Sum: sum}, nil
}

// qemuFormatArgs are qemu-img's output options for a target.
func qemuFormatArgs(t Target) []string {
	switch t.Format {
	case "vmdk":
		// Only monolithicSparse comes here: convert writes streamOptimized
		// with internal/vmdk.
		return []string{"-O", "vmdk", "-o", "subformat=" + t.Subformat}
	case "vhdx":
		// Microsoft's guidance for Linux guests: 1 MiB blocks, not the
		// 8 MiB and larger blocks qemu-img picks by default, each stored whole
		// once the guest touches it.
		return []string{"-O", "vhdx", "-o", "subformat=dynamic,block_size=1M"}
	case "vhd":
		sub := "dynamic"
		if t.Fixed {
			sub = "fixed"
		}
		// force_size keeps the exact virtual size instead of CHS geometry.
		return []string{"-O", "vpc", "-o", "subformat=" + sub + ",force_size=on"}
	case "qcow2":
		kind := map[string]string{"zstd": "zstd", "gzip": "zlib"}[t.Compression]
		return qemuimg.OutputOptions("qcow2", kind)
	default:
		return qemuimg.OutputOptions(t.Format, "")
	}
}

// progress reports every 10% of a conversion.
func (e *exporter) progress(name string) func(int) {
	last := -1
	var mu sync.Mutex
	return func(pct int) {
		mu.Lock()
		defer mu.Unlock()
		if step := pct / 10 * 10; step > last && step > 0 {
			last = step
			e.UI.Say(fmt.Sprintf("%s: %d%%", name, step))
		}
	}
}

// syncAndPublish flushes tmp, gives it mode perm and renames it to final.
func syncAndPublish(tmp, final string, force bool, perm os.FileMode) error {
	f, err := os.OpenFile(tmp, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	f.Close()
	if err := os.Chmod(tmp, perm); err != nil {
		return err
	}
	if _, err := os.Stat(final); err == nil && !force {
		return fmt.Errorf("%s appeared while exporting; run with -force to replace it", final)
	}
	return os.Rename(tmp, final)
}

// hashingWriter writes to w while computing SHA-256 (every output's ID)
// and SHA-512 when the checksum file asks for it.
func hashingWriter(w io.Writer, withSHA512 bool) (io.Writer, func() map[string]string) {
	h256 := sha256.New()
	if !withSHA512 {
		return io.MultiWriter(w, h256), func() map[string]string { return map[string]string{"sha256": hexSum(h256)} }
	}
	h512 := sha512.New()
	return io.MultiWriter(w, h256, h512), func() map[string]string {
		return map[string]string{"sha256": hexSum(h256), "sha512": hexSum(h512)}
	}
}

func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

func digestFile(path string, withSHA512 bool) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	w, sums := hashingWriter(io.Discard, withSHA512)
	if _, err := io.Copy(w, f); err != nil {
		return nil, err
	}
	return sums(), nil
}

// compressFile streams src through the compressor into dst.
func compressFile(ctx context.Context, src, dst, compression string, withSHA512 bool) (map[string]string, error) {
	in, err := os.Open(src)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	hashed, sums := hashingWriter(out, withSHA512)
	var zw io.WriteCloser
	switch compression {
	case "gzip":
		gz := gzip.NewWriter(hashed)
		gz.ModTime = time.Unix(0, 0) // RFC 1952: no time stamp
		zw = gz
	case "zstd":
		zw, err = zstd.NewWriter(hashed)
	case "xz":
		zw, err = xz.NewWriter(hashed)
	default:
		return nil, fmt.Errorf("unknown compression %q", compression)
	}
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(zw, fileutil.ContextReader{Ctx: ctx, R: in}); err != nil {
		zw.Close()
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return sums(), out.Close()
}

// gceSizeUnit is the granularity of a Compute Engine image's disk.
const gceSizeUnit = 1 << 30

// prepareGCEDisk applies Compute Engine's rules to the raw disk: it must
// carry an MBR or GPT partition table, and its size must be a whole
// number of GiB, so it is grown (sparsely) to the next one.
func prepareGCEDisk(raw string) error {
	if !diskcheck.HasPartitionTable(raw) {
		return errors.New("the disk has no MBR or GPT partition table, and Compute Engine imports only disks with one")
	}
	st, err := os.Stat(raw)
	if err != nil {
		return err
	}
	if rounded := (st.Size() + gceSizeUnit - 1) / gceSizeUnit * gceSizeUnit; rounded != st.Size() {
		return os.Truncate(raw, rounded)
	}
	return nil
}

// writeChecksums writes `<hex>  <name>` lines, as sha256sum -c reads them.
func writeChecksums(path string, outputs []Output) error {
	var lines []string
	for _, o := range outputs {
		lines = append(lines, fmt.Sprintf("%s  %s", o.Sum, filepath.Base(o.Path)))
	}
	sort.Slice(lines, func(i, j int) bool {
		return lines[i][strings.Index(lines[i], "  "):] < lines[j][strings.Index(lines[j], "  "):]
	})
	return fileutil.WriteAtomic(path, []byte(strings.Join(lines, "\n")+"\n"))
}
