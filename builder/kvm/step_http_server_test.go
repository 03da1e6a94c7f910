package kvm

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	"github.com/hashicorp/packer-plugin-sdk/multistep/commonsteps"

	"github.com/kvmforge/packer-plugin-kvm/internal/guestaddr"
)

// real request.
func TestStepHTTPServer_listensOnTheBridgeAddress(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	state, _ := testState(t)
	// 127.0.0.2 stands for the bridge's address: on the loopback, but not
	// 127.0.0.1.
	keyBridgeAddress.Put(state, netip.MustParsePrefix("127.0.0.2/8"))
	step := &stepHTTPServer{OnBridge: true, Server: &commonsteps.StepHTTPServer{HTTPDir: dir, HTTPPortMin: 8000, HTTPPortMax: 9000,
		HTTPAddress: "127.0.0.1", HTTPNetworkProcotol: "tcp"}}
	if action := step.Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("halted: %v", stateErr(state))
	}
	defer step.Cleanup(state)
	port := keyHTTPPort.Get(state)
	resp, err := http.Get("http://" + net.JoinHostPort("127.0.0.2", strconv.Itoa(port)) + "/f")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello" {
		t.Fatalf("served %q", body)
	}
	if conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second); err == nil {
		conn.Close()
		t.Fatal("the HTTP server also listens on 127.0.0.1")
	}
}

type fakeFinder struct {
	found   guestaddr.Found
	err     error
	subnet  netip.Prefix
	timeout time.Duration
	// block: Wait returns only when its context ends.
	block bool
}

func (f *fakeFinder) Wait(ctx context.Context, timeout time.Duration) (guestaddr.Found, error) {
	f.timeout = timeout
	if f.block {
		<-ctx.Done()
		return guestaddr.Found{}, ctx.Err()
	}
	return f.found, f.err
}
