package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
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

var crashIterations = flag.Int("crash-iterations", 5, "SIGKILL iterations of TestCrashLosesNothing (make crash: 100)")

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// binary builds the server once per test run.
func binary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ccmb-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "cc-metric-bridge")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("%v: %s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// instance is one run of the real binary over a data directory.
type instance struct {
	addr   string
	cmd    *exec.Cmd
	exited chan error
	stderr *syncBuffer
}

func writeConfig(t *testing.T, dir, addr string) string {
	t.Helper()
	cfg := fmt.Sprintf(`{
  "main": {"addr": %q},
  "metrics": {"crash": {"frequency": 1, "aggregation": null}},
  "metric-store": {"retention-in-memory": "8760h", "memory-cap": 0, "checkpoint-interval": "1h",
                   "checkpoints": {"directory": %q}},
  "bridge": {"data-dir": %q, "max-points-per-series": 100000000, "max-points-per-request": 200000000}
}`, addr, filepath.Join(dir, "checkpoints"), filepath.Join(dir, "var"))
	path := filepath.Join(dir, "config.json")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func start(t *testing.T, dir, addr string) *instance {
	t.Helper()
	cmd := exec.Command(binary(t), "-config", filepath.Join(dir, "config.json"), "-loglevel", "info")
	in := &instance{addr: addr, cmd: cmd, exited: make(chan error, 1), stderr: &syncBuffer{}}
	cmd.Stderr = in.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { in.exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/api/healthcheck")
		if err == nil {
			var h struct{ Ready bool }
			json.NewDecoder(resp.Body).Decode(&h)
			resp.Body.Close()
			if h.Ready {
				return in
			}
		}
		select {
		case err := <-in.exited:
			t.Fatalf("server exited during start-up: %v\n%s", err, in.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready within 30 s:\n%s", in.stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (in *instance) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	in.cmd.Process.Signal(sig)
	select {
	case err := <-in.exited:
		if sig == syscall.SIGTERM && err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, in.stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no exit after %v", sig)
	}
}

// crashBase puts the samples a day back: inside the retention window.
var crashBase = time.Now().Unix() - 86400

// writeBatch sends samples seq..seq+n-1 of host (value = seq, at
// base+seq seconds plus a ms part) and reports whether they were acknowledged.
func writeBatch(addr, host string, seq, n int) bool {
	var b strings.Builder
	for i := seq; i < seq+n; i++ {
		fmt.Fprintf(&b, "crash,cluster=c,hostname=%s value=%d %d\n", host, i, (crashBase+int64(i))*1000+int64(i%1000))
	}
	resp, err := http.Post("http://"+addr+"/api/write", "text/plain", strings.NewReader(b.String()))
	if err != nil {
		return false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == 200
}

// checkAcked verifies that every acknowledged seq of host is stored.
func checkAcked(t *testing.T, addr, host string, acked []int) {
	t.Helper()
	if len(acked) == 0 {
		return
	}
	last := acked[len(acked)-1]
	body := fmt.Sprintf(`{"cluster":"c","from":%d,"to":%d,"with-padding":false,"queries":[{"metric":"crash","host":%q}]}`, crashBase, crashBase+int64(last)+1, host)
	req, _ := http.NewRequest("GET", "http://"+addr+"/api/query", strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Results [][]struct {
			Data []*float64
			From int64
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if len(out.Results) != 1 || len(out.Results[0]) != 1 {
		t.Fatalf("%s: no data back", host)
	}
	e := out.Results[0][0]
	for _, seq := range acked {
		k := int64(seq) - (e.From - crashBase)
		if k < 0 || k >= int64(len(e.Data)) || e.Data[k] == nil || *e.Data[k] != float64(seq) {
			t.Fatalf("%s: acknowledged sample %d lost (from %d, %d points)", host, seq, e.From-crashBase, len(e.Data))
		}
	}
}

// TestRestartKeepsEverything: write, SIGTERM, restart: every acknowledged
// sample is back with its value and slot (the value encodes the time).
func TestRestartKeepsEverything(t *testing.T) {
	dir, addr := t.TempDir(), freePort(t)
	writeConfig(t, dir, addr)
	in := start(t, dir, addr)
	var acked []int
	for seq := 0; seq < 3000; seq += 100 {
		if !writeBatch(addr, "h0", seq, 100) {
			t.Fatal("write not acknowledged")
		}
		for i := seq; i < seq+100; i++ {
			acked = append(acked, i)
		}
	}
	in.stop(t, syscall.SIGTERM)
	if snaps, _ := filepath.Glob(filepath.Join(dir, "checkpoints", "c", "h0", "*.snap")); len(snaps) != 1 {
		t.Fatalf("no final snapshot: %v", snaps)
	}
	in = start(t, dir, addr)
	checkAcked(t, addr, "h0", acked)
	in.stop(t, syscall.SIGTERM)
}

// TestCrashLosesNothing: writers run while the server is killed with
// SIGKILL at random points; every restart succeeds and no acknowledged
// sample is lost.
func TestCrashLosesNothing(t *testing.T) {
	dir, addr := t.TempDir(), freePort(t)
	writeConfig(t, dir, addr)
	hosts := []string{"h0", "h1", "h2"}
	acked := make([][]int, len(hosts))
	next := make([]int, len(hosts))
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	for it := 0; it < *crashIterations; it++ {
		in := start(t, dir, addr)
		for h, host := range hosts {
			checkAcked(t, addr, host, acked[h])
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		stop := make(chan struct{})
		for h, host := range hosts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					mu.Lock()
					seq := next[h]
					next[h] += 50
					mu.Unlock()
					if !writeBatch(addr, host, seq, 50) {
						return // the server died mid-request: not acknowledged
					}
					mu.Lock()
					for i := seq; i < seq+50; i++ {
						acked[h] = append(acked[h], i)
					}
					mu.Unlock()
				}
			}()
		}
		time.Sleep(time.Duration(50+r.IntN(400)) * time.Millisecond)
		in.stop(t, syscall.SIGKILL)
		close(stop)
		wg.Wait()
	}
	in := start(t, dir, addr)
	total := 0
	for h, host := range hosts {
		checkAcked(t, addr, host, acked[h])
		total += len(acked[h])
	}
	t.Logf("%d iterations, %d acknowledged samples, none lost", *crashIterations, total)
	in.stop(t, syscall.SIGTERM)
}
