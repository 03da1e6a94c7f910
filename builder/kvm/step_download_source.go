package kvm

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	"github.com/hashicorp/packer-plugin-sdk/multistep/commonsteps"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/kvmforge/packer-plugin-kvm/internal/download"
)

// stepDownloadSource runs the SDK's download of the source image with a
// stall timeout: the SDK only bounds a whole HTTP read (30 minutes by
// default), so a server that stops sending would hang the build with no
// message. The download's progress stream is watched; when no byte arrives
// for StallTimeout (from the request until the body ends), the download is
// cancelled, its partial file is removed from Packer's cache and the build
// fails naming download_stall_timeout (internal/download). Local files and
// other schemes (whose getters report no progress) are not watched.
//
// It reads ui (and hands the download a wrapped one) and writes what
// StepDownload writes (its ResultKey).
type stepDownloadSource struct {
	Download     *commonsteps.StepDownload
	StallTimeout time.Duration
}

func (s *stepDownloadSource) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	source := s.Download.Url[0]
	if s.StallTimeout <= 0 || !isHTTP(source) {
		return s.Download.Run(ctx, state)
	}
	ui := keyUI.Get(state)
	var action multistep.StepAction
	stalled := download.WatchStall(ctx, ui, s.StallTimeout, func(ctx context.Context, watched packersdk.Ui) {
		keyUI.Put(state, watched)
		action = s.Download.Run(ctx, state)
		keyUI.Put(state, ui)
	})
	if !stalled {
		return action
	}
	if _, target, err := s.Download.UseSourceToFindCacheTarget(source); err == nil {
		os.Remove(target)
	}
	return halt(state, fmt.Errorf("the download of the source image stalled: no data from %s for %s (download_stall_timeout); check the URL and the network, or raise download_stall_timeout", source, s.StallTimeout))
}

func (s *stepDownloadSource) Cleanup(state multistep.StateBag) { s.Download.Cleanup(state) }

func isHTTP(source string) bool {
	u, err := url.Parse(source)
	return err == nil && (strings.EqualFold(u.Scheme, "http") || strings.EqualFold(u.Scheme, "https"))
}
