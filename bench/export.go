package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"time"
)

// exportTargets are the benchmark's targets, as hand-run qemu-img
// commands and as kvm-export target blocks.
var exportTargets = []struct {
	name, block string
	args        []string
}{
	{"bench.vmdk", `target { format = "vmdk" }`, []string{"-O", "vmdk", "-o", "subformat=streamOptimized,adapter_type=lsilogic"}},
	{"bench.vhdx", `target { format = "vhdx" }`, []string{"-O", "vhdx", "-o", "subformat=dynamic"}},
	{"bench.vhd", "target {\n format = \"vhd\"\n fixed = true\n}", []string{"-O", "vpc", "-o", "subformat=fixed,force_size=on"}},
	{"bench.vdi", `target { format = "vdi" }`, []string{"-O", "vdi"}},
}

// runExportBench times the four conversions by hand, one after another,
// then through kvm-export with parallel = 1 and with the default
// parallelism, each as a whole `packer build` of the file builder.
func runExportBench(packer, image string, runs int, work string) {
	var hand, seq, par []time.Duration
	for i := 0; i < runs; i++ {
		fmt.Fprintf(os.Stderr, "export run %d/%d\n", i+1, runs)
		dir := filepath.Join(work, fmt.Sprint("export", i))
		check(os.MkdirAll(dir, 0o755))
		start := time.Now()
		for _, t := range exportTargets {
			args := append(append([]string{"convert"}, t.args...), image, filepath.Join(dir, t.name))
			run("qemu-img", args...)
		}
		hand = append(hand, time.Since(start))
		check(os.RemoveAll(dir))
		seq = append(seq, packerExport(packer, image, filepath.Join(work, fmt.Sprint("seq", i)), 1))
		par = append(par, packerExport(packer, image, filepath.Join(work, fmt.Sprint("par", i)), 0))
	}
	h, s, p := medianOf(hand), medianOf(seq), medianOf(par)
	fmt.Printf("\nkvm-export of the test image to vmdk, vhdx, fixed vhd and vdi, %d runs, medians\n\n", runs)
	fmt.Printf("| sequence | time | vs hand-run |\n| --- | ---: | ---: |\n")
	fmt.Printf("| hand-run qemu-img convert, one after another | %.1f s | 1.00x |\n", h.Seconds())
	fmt.Printf("| kvm-export, parallel = 1 | %.1f s | %.2fx |\n", s.Seconds(), s.Seconds()/h.Seconds())
	fmt.Printf("| kvm-export, parallel (cores) | %.1f s | %.2fx |\n", p.Seconds(), p.Seconds()/h.Seconds())
}

// packerExport returns the time the export itself took, from the plugin's
// per-target messages bracketing it in Packer's timestamped log.
func packerExport(packer, image, dir string, parallel int) time.Duration {
	check(os.MkdirAll(dir, 0o755))
	blocks := ""
	for _, t := range exportTargets {
		blocks += "    " + t.block + "\n"
	}
	par := ""
	if parallel > 0 {
		par = fmt.Sprintf("parallel = %d", parallel)
	}
	template := fmt.Sprintf(`
source "file" "image" {
  source = %q
  target = "bench.qcow2"
}
build {
  sources = ["source.file.image"]
  post-processor "kvm-export" {
    output_directory = "exports"
    checksum         = "none"
    %s
%s  }
}
`, image, par, blocks)
	check(os.WriteFile(filepath.Join(dir, "export.pkr.hcl"), []byte(template), 0o644))
	cmd := exec.Command(packer, "build", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PACKER_NO_COLOR=1", "CHECKPOINT_DISABLE=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		fail("packer build (export): %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Export took (\S+)`).FindSubmatch(out)
	if m == nil {
		fail("the export did not report its duration:\n%s", out)
	}
	d, err := time.ParseDuration(string(m[1]))
	check(err)
	os.RemoveAll(dir)
	return d
}
