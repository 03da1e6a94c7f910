package main

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"time"
)

// streamBuild runs `packer build .` in dir and hands each line of its
// output to onLine the moment it arrives, for the phase marks the plugin
// prints; it returns the whole output and the build's time, and ends the
// bench when the build fails.
func streamBuild(packer, dir string, onLine func(line string, at time.Time)) (string, time.Duration) {
	cmd := exec.Command(packer, "build", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PACKER_NO_COLOR=1", "CHECKPOINT_DISABLE=1")
	stdout, err := cmd.StdoutPipe()
	check(err)
	cmd.Stderr = cmd.Stdout
	start := time.Now()
	check(cmd.Start())
	var out strings.Builder
	scanner := bufio.NewScanner(stdout)
	for scanner.Scan() {
		line := scanner.Text()
		out.WriteString(line + "\n")
		onLine(line, time.Now())
	}
	if err := cmd.Wait(); err != nil {
		fail("packer build: %v\n%s", err, out.String())
	}
	return out.String(), time.Since(start)
}
