package qemu

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// silentMonitor serves QMP on socket as a QEMU whose main loop hangs
// would: it greets, accepts the capabilities negotiation, then reads every
// command and answers none.
func silentMonitor(t *testing.T, socket string) {
	t.Helper()
	l, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		conn.Write([]byte(`{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": ""}, "capabilities": []}}` + "\n"))
		lines := bufio.NewScanner(conn)
		if lines.Scan() { // qmp_capabilities
			conn.Write([]byte(`{"return": {}}` + "\n"))
		}
		for lines.Scan() {
		}
	}()
}

// startSilentVM starts a stand-in QEMU process (sleep) whose monitor
// never answers.
func startSilentVM(t *testing.T) VM {
	t.Helper()
	dir, err := os.MkdirTemp("", "kvm-qmptest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	socket := filepath.Join(dir, "qmp.sock")
	silentMonitor(t, socket)
	// Short QMP deadlines keep the tests quick; they assert that calls
	// end, not how fast.
	d := &QemuDriver{QemuBinary: "sleep", QMPTimeout: time.Second, StopGrace: time.Second}
	vm, err := d.Start([]string{"600"}, socket)
	if err != nil {
		t.Fatal(err)
	}
	return vm
}

// waitOrFail fails the test when done is not closed within a minute: the
// call it waits for hangs.
func waitOrFail(t *testing.T, done <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatalf("%s hangs on a monitor that does not answer", what)
	}
}

func TestQemuVM_stopKillsQEMUWhenItsMonitorDoesNotAnswer(t *testing.T) {
	t.Parallel()
	vm := startSilentVM(t)
	stopped := make(chan struct{})
	go func() {
		vm.Stop()
		close(stopped)
	}()
	waitOrFail(t, stopped, "Stop")
	select {
	case <-vm.Exited():
	default:
		t.Fatal("Stop returned while QEMU still runs")
	}
	if err := vm.ExitError(); err == nil {
		t.Fatal("QEMU exited cleanly; want it killed")
	}
}

func TestQemuVM_callsEndWithTheirContext(t *testing.T) {
	t.Parallel()
	vm := startSilentVM(t)
	defer vm.Stop()

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	done := make(chan struct{})
	var err error
	go func() {
		_, err = vm.Status(ctx)
		close(done)
	}()
	waitOrFail(t, done, "Status")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Status error %v, want the context's deadline", err)
	}

	// A call without a deadline of its own gets the monitor's.
	done = make(chan struct{})
	go func() {
		err = vm.PowerDown(context.Background())
		close(done)
	}()
	waitOrFail(t, done, "PowerDown")
	if err == nil {
		t.Fatal("PowerDown succeeded on a monitor that never answered")
	}
}
