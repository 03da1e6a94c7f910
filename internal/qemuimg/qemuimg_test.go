package qemuimg

import (
	"bufio"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func realRunner(t *testing.T) *Runner {
	t.Helper()
	r := New("")
	if _, err := os.Stat("/usr/bin/qemu-img"); err != nil {
		t.Skip("qemu-img is not installed (apt-get install qemu-utils)")
	}
	return r
}

func blankQcow2(t *testing.T, r *Runner, size int64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "disk.qcow2")
	if err := r.CreateBlank(context.Background(), path, size); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRunner_overlayInfoAndConvertWithProgress(t *testing.T) {
	r := realRunner(t)
	ctx := context.Background()
	base := blankQcow2(t, r, 64<<20)
	overlay := filepath.Join(t.TempDir(), "overlay.qcow2")
	if err := r.CreateOverlay(ctx, base, "qcow2", overlay, 128<<20); err != nil {
		t.Fatal(err)
	}
	if info, err := r.Info(ctx, base); err != nil || info.Format != "qcow2" || info.VirtualSize != 64<<20 || info.BackingFile != "" {
		t.Errorf("blank disk %+v %v, want a 64 MiB qcow2 without backing file", info, err)
	}
	info, err := r.Info(ctx, overlay)
	if err != nil {
		t.Fatal(err)
	}
	if info.Format != "qcow2" || info.VirtualSize != 128<<20 || info.BackingFile != base || info.BackingFormat != "qcow2" {
		t.Errorf("info %+v", *info)
	}
	if err := r.Check(ctx, overlay, "qcow2"); err != nil {
		t.Errorf("a fresh overlay fails its check: %v", err)
	}
	var seen []int
	dst := filepath.Join(t.TempDir(), "flat.vdi")
	if err := r.Convert(ctx, overlay, dst, OutputOptions("vdi", ""), func(p int) { seen = append(seen, p) }); err != nil {
		t.Fatal(err)
	}
	if len(seen) == 0 || seen[len(seen)-1] != 100 || !slices.IsSorted(seen) {
		t.Errorf("progress %v, want rising to 100", seen)
	}
	if info, err := r.Info(ctx, dst); err != nil || info.Format != "vdi" || info.BackingFile != "" {
		t.Errorf("converted %+v %v, want a standalone vdi", info, err)
	}
	if n, err := r.DataBytes(ctx, dst); err != nil || n != 0 {
		t.Errorf("data bytes of a blank disk %d %v, want 0", n, err)
	}
}

func TestRunner_failuresSayWhy(t *testing.T) {
	r := realRunner(t)
	_, err := r.Info(context.Background(), filepath.Join(t.TempDir(), "missing.qcow2"))
	if err == nil || !strings.Contains(err.Error(), "qemu-img info:") || !strings.Contains(err.Error(), "missing.qcow2") {
		t.Errorf("error %v, want qemu-img's reason", err)
	}
	err = r.Convert(context.Background(), "/nonexistent.qcow2", filepath.Join(t.TempDir(), "x.raw"), OutputOptions("raw", ""), nil)
	if err == nil || !strings.HasPrefix(err.Error(), "qemu-img convert to x.raw: ") {
		t.Errorf("error %v, want the destination and qemu-img's reason", err)
	}
	_, err = New("qemu-img-nonexistent").Info(context.Background(), "x")
	if err == nil || !strings.Contains(err.Error(), "install qemu-utils") {
		t.Errorf("error %v, want the package to install", err)
	}
}

func TestRunner_cancelledContextIsTheError(t *testing.T) {
	r := realRunner(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	base := blankQcow2(t, r, 16<<20)
	err := r.Convert(ctx, base, filepath.Join(t.TempDir(), "x.raw"), OutputOptions("raw", ""), nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("convert error %v, want context.Canceled", err)
	}
	if _, err := r.Info(ctx, base); !errors.Is(err, context.Canceled) {
		t.Errorf("info error %v, want context.Canceled", err)
	}
}

func TestOutputOptions(t *testing.T) {
	for _, tc := range []struct {
		format, compression, want string
	}{
		{"qcow2", "zstd", "-O qcow2 -c -o compression_type=zstd"},
		{"qcow2", "none", "-O qcow2"},
		{"qcow2", "", "-O qcow2"},
		{"raw", "zstd", "-O raw"},
	} {
		if got := strings.Join(OutputOptions(tc.format, tc.compression), " "); got != tc.want {
			t.Errorf("OutputOptions(%q, %q) = %q, want %q", tc.format, tc.compression, got, tc.want)
		}
	}
}

func TestSplitOnCR_separatesRedrawnProgress(t *testing.T) {
	s := bufio.NewScanner(strings.NewReader("    (0.00/100%)\r    (51.20/100%)\r    (100.00/100%)\n"))
	s.Split(splitOnCR)
	var got []string
	for s.Scan() {
		if m := progressRE.FindStringSubmatch(s.Text()); m != nil {
			got = append(got, m[1])
		}
	}
	if strings.Join(got, ",") != "0.00,51.20,100.00" {
		t.Errorf("got %v", got)
	}
}
