package kvm

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	"github.com/hashicorp/packer-plugin-sdk/multistep/commonsteps"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/kvmforge/packer-plugin-kvm/internal/download"
	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
)

// trickleServer serves a size-byte file in chunks every interval, and then,
// if stallAfter > 0, stops sending after stallAfter bytes without closing
// the connection, as a stuck mirror does.
func trickleServer(t *testing.T, size, chunk, stallAfter int, interval time.Duration) *httptest.Server {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(size))
		if r.Method == http.MethodHead {
			return
		}
		sent := 0
		for sent < size {
			if stallAfter > 0 && sent >= stallAfter {
				select {
				case <-r.Context().Done():
				case <-release:
				}
				return
			}
			n := min(chunk, size-sent)
			w.Write([]byte(strings.Repeat("x", n)))
			w.(http.Flusher).Flush()
			sent += n
			time.Sleep(interval)
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	return srv
}

func downloadState(t *testing.T) *multistep.BasicStateBag {
	t.Helper()
	t.Setenv("PACKER_CACHE_DIR", t.TempDir())
	state, _ := testState(t)
	keyUI.Get(state).(*packersdk.BasicUi).PB = &packersdk.NoopProgressTracker{}
	return state
}

func TestStepDownloadSource_aStalledDownloadFailsAndLeavesNoPartialFile(t *testing.T) {
	srv := trickleServer(t, 1<<20, 4096, 8192, time.Millisecond)
	state := downloadState(t)
	step := &stepDownloadSource{
		Download:     &commonsteps.StepDownload{Checksum: "none", Description: "source image", ResultKey: string(keySourceImagePath), Url: []string{srv.URL + "/image.qcow2"}},
		StallTimeout: 500 * time.Millisecond,
	}
	done := make(chan multistep.StepAction, 1)
	go func() { done <- step.Run(context.Background(), state) }()
	var action multistep.StepAction
	select {
	case action = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the stalled download still hangs")
	}
	err := stateErr(state)
	if action != multistep.ActionHalt || err == nil || !strings.Contains(err.Error(), "stalled") || !strings.Contains(err.Error(), "download_stall_timeout") {
		t.Fatalf("want a stall error, got %v", err)
	}
	if _, target, _ := step.Download.UseSourceToFindCacheTarget(step.Download.Url[0]); fileutil.Exists(target) {
		t.Fatalf("the partial download %s was left in the cache", target)
	}
	if _, ok := keyUI.Get(state).(*download.ProgressUI); ok {
		t.Fatal("the wrapped UI was left in the state")
	}
}

// The timeout is on silence, not on the whole download: a slow download
// that keeps moving completes.
func TestStepDownloadSource_aSlowButSteadyDownloadCompletes(t *testing.T) {
	// 24 chunks 100 ms apart: the whole download takes twice the stall
	// timeout, while no gap comes near it, even on a loaded machine.
	srv := trickleServer(t, 96<<10, 4096, 0, 100*time.Millisecond)
	state := downloadState(t)
	step := &stepDownloadSource{
		Download:     &commonsteps.StepDownload{Checksum: "none", Description: "source image", ResultKey: string(keySourceImagePath), Url: []string{srv.URL + "/image.qcow2"}},
		StallTimeout: 1200 * time.Millisecond,
	}
	if action := step.Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("halted: %v", stateErr(state))
	}
	fi, err := os.Stat(keySourceImagePath.Get(state))
	if err != nil || fi.Size() != 96<<10 {
		t.Fatalf("downloaded file: %v %v", fi, err)
	}
}
