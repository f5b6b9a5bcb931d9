package main

import (
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestRunDefault is what `make run` does: the real binary with no config
// file serves /api/healthcheck/ on 127.0.0.1:8080 within seconds and exits
// 0 on SIGTERM.
func TestRunDefault(t *testing.T) {
	if ln, err := net.Listen("tcp", "127.0.0.1:8080"); err != nil {
		t.Skipf("127.0.0.1:8080 is busy (%v): cannot check the default address", err)
	} else {
		ln.Close()
	}
	bin := filepath.Join(t.TempDir(), "cc-metric-bridge")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Dir = t.TempDir()
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})

	start := time.Now()
	var body string
	for {
		resp, err := http.Get("http://127.0.0.1:8080/api/healthcheck/")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				body = string(b)
				break
			}
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("no healthcheck answer within 10 s (last error %v); stderr:\n%s", err, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("healthcheck answered after %v: %s", time.Since(start).Round(time.Millisecond), body)
	if !strings.Contains(body, `"status":"ok"`) {
		t.Errorf("healthcheck body %q", body)
	}
	if !strings.Contains(stderr.String(), "authentication is off") {
		t.Errorf("no warning about disabled authentication in:\n%s", stderr.String())
	}

	resp, err := http.Get("http://127.0.0.1:8080/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), "ccmb_series 0") || !strings.Contains(string(metrics), "go_goroutines") {
		t.Errorf("/metrics lacks the store and Go metrics:\n%.500s", metrics)
	}

	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit within 10 s of SIGTERM")
	}
	exited <- nil // for the cleanup
}

// syncBuffer collects the child's stderr while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestVersionFlag(t *testing.T) {
	if err := run([]string{"-version"}); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"-loglevel", "loud"}); err == nil {
		t.Fatal("bad -loglevel accepted")
	}
	if err := run([]string{"-config", filepath.Join(t.TempDir(), "missing.json")}); err == nil {
		t.Fatal("missing config file accepted")
	}
}
