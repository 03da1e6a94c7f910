package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// runWarmBench measures warm start: per run, the lean sequence, a cold
// build (warm_start off), a cold build that saves the booted VM
// (warm_start on, empty cache) and a warm build resuming it, all doing the
// standard job. It prints medians and the two ratios the feature is held
// to: warm/cold and saving/cold.
func runWarmBench(packer, image string, runs int, work string) {
	var lean, cold, saving, warm []time.Duration
	var saveCost []time.Duration
	for i := 0; i < runs; i++ {
		dir := filepath.Join(work, fmt.Sprint("warm", i))
		cache := filepath.Join(dir, "cache")
		fmt.Fprintf(os.Stderr, "warm run %d/%d: lean sequence\n", i+1, runs)
		lean = append(lean, runLean(image, filepath.Join(dir, "lean"))["total"])
		fmt.Fprintf(os.Stderr, "warm run %d/%d: cold build\n", i+1, runs)
		d, _ := runWarmJob(packer, image, filepath.Join(dir, "cold"), cache, false, "")
		cold = append(cold, d)
		fmt.Fprintf(os.Stderr, "warm run %d/%d: cold build saving its VM\n", i+1, runs)
		d, out := runWarmJob(packer, image, filepath.Join(dir, "save"), cache, true, "warm start: saved entry")
		saving = append(saving, d)
		saveCost = append(saveCost, reported([]byte(out), `warm start: saved entry \S+ \([^)]*\) in (\S+)`))
		fmt.Fprintf(os.Stderr, "warm run %d/%d: warm build\n", i+1, runs)
		d, _ = runWarmJob(packer, image, filepath.Join(dir, "warm"), cache, true, "warm start: resumed from")
		warm = append(warm, d)
	}
	c := medianOf(cold)
	fmt.Printf("warm start, %d runs each, medians of the total build time\n\n", runs)
	fmt.Printf("| build | total | vs cold |\n| --- | ---: | ---: |\n")
	for _, row := range []struct {
		name string
		v    []time.Duration
	}{{"lean sequence", lean}, {"cold (warm_start off)", cold}, {"cold, saving the VM", saving}, {"warm (resumed)", warm}} {
		m := medianOf(row.v)
		fmt.Printf("| %s | %.1f s | %.2fx |\n", row.name, m.Seconds(), m.Seconds()/c.Seconds())
	}
	fmt.Printf("\nsaving the VM (pause, disk freeze, migration, entry written): %.1f s median, %.0f%% of the cold build\n",
		medianOf(saveCost).Seconds(), 100*medianOf(saveCost).Seconds()/c.Seconds())
}

// runWarmJob runs the standard job with warm_start on or off, with
// PACKER_CACHE_DIR at cache, and checks that the output says want.
func runWarmJob(packer, image, dir, cache string, warmStart bool, want string) (time.Duration, string) {
	check(os.MkdirAll(dir, 0o755))
	template := fmt.Sprintf(`
source "kvm" "bench" {
  source_image_url      = %q
  source_image_checksum = "none"
  ssh_username          = "packer"
  memory                = 1024
  output_directory      = %q
  warm_start            = %t
}
build {
  sources = ["source.kvm.bench"]
  provisioner "shell" { inline = ["true", "echo hello"] }
}
`, image, filepath.Join(dir, "out"), warmStart)
	check(os.WriteFile(filepath.Join(dir, "bench.pkr.hcl"), []byte(template), 0o644))
	cmd := exec.Command(packer, "build", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PACKER_NO_COLOR=1", "CHECKPOINT_DISABLE=1", "PACKER_CACHE_DIR="+cache)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	if err != nil {
		fail("packer build: %v\n%s", err, out)
	}
	if want != "" && !strings.Contains(string(out), want) {
		fail("packer build output lacks %q:\n%s", want, out)
	}
	return took, string(out)
}
