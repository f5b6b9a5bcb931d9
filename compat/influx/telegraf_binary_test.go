package influx_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/cc-metric-bridge/cc-metric-bridge/compat/influx"
)

// telegrafConfig is docs/telegraf.md's v1 and v2 configuration, both
// outputs at once, with auth (the JWT as Basic password and as token) and
// a fast interval so that a short run flushes several times.
const telegrafConfig = `
[agent]
  interval = "2s"
  flush_interval = "2s"
  collection_jitter = "0s"
  flush_jitter = "0s"
  hostname = "tg-node"
  omit_hostname = false

[[inputs.cpu]]
  percpu = true
  totalcpu = true

[[inputs.mem]]

[[outputs.influxdb]]
  urls = ["%[1]s"]
  database = "telegraf"
  skip_database_creation = false
  username = "telegraf"
  password = "%[2]s"

[[outputs.influxdb_v2]]
  urls = ["%[1]s"]
  token = "%[2]s"
  organization = "cc"
  bucket = "hpc"
`

// TestTelegrafBinary runs a real Telegraf (item 45) against the server. It
// is opt-in because it takes CCMB_TELEGRAF_SECONDS (default 15) seconds:
//
//	CCMB_TELEGRAF=1 go test -run TelegrafBinary -v ./compat/influx/
//
// CCMB_TELEGRAF is the binary's path, or 1 for ~/.cache/peers/bin/telegraf
// (built by reference/tools/install-peers.sh telegraf).
func TestTelegrafBinary(t *testing.T) {
	bin := os.Getenv("CCMB_TELEGRAF")
	if bin == "" {
		t.Skip("set CCMB_TELEGRAF=1 (or a path) to run Telegraf against the server")
	}
	if bin == "1" {
		home, _ := os.UserHomeDir()
		bin = filepath.Join(home, ".cache", "peers", "bin", "telegraf")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("no Telegraf binary: %v", err)
	}
	seconds := 15
	if s, err := strconv.Atoi(os.Getenv("CCMB_TELEGRAF_SECONDS")); err == nil && s > 0 {
		seconds = s
	}

	key, verifier := newKey(t)
	tok := token(t, key, jwt.MapClaims{"sub": "telegraf"})
	var mu sync.Mutex
	statuses := map[string]map[int]int{} // path → status → count
	record := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rw := &statusWriter{ResponseWriter: w, status: 200}
			h.ServeHTTP(rw, r)
			mu.Lock()
			if statuses[r.URL.Path] == nil {
				statuses[r.URL.Path] = map[int]int{}
			}
			statuses[r.URL.Path][rw.status]++
			mu.Unlock()
		})
	}
	// db and bucket name the cluster here, to tell the two outputs apart.
	s := startWrapped(t, record, func(o *influx.Options) { o.Verifier = verifier; o.ClusterFromDB = true })

	dir := t.TempDir()
	conf := filepath.Join(dir, "telegraf.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, telegrafConfig, s.URL, tok), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(seconds+30)*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--config", conf, "--debug")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Duration(seconds) * time.Second)
	cmd.Process.Signal(syscall.SIGTERM) // Telegraf flushes on the way out
	if err := cmd.Wait(); err != nil {
		t.Errorf("telegraf exited: %v", err)
	}
	log := out.String()
	t.Logf("telegraf log:\n%s", log)
	mu.Lock()
	t.Logf("requests by path and status: %v", statuses)
	mu.Unlock()

	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, " E! ") || strings.Contains(l, "creation failed") || strings.Contains(l, "will be dropped") ||
			strings.Contains(l, "retry") {
			t.Errorf("telegraf log: %s", l)
		}
	}
	if n := strings.Count(log, "[outputs.influxdb] Wrote batch"); n < 2 {
		t.Errorf("outputs.influxdb wrote %d batches", n)
	}
	if n := strings.Count(log, "[outputs.influxdb_v2] Wrote batch"); n < 2 {
		t.Errorf("outputs.influxdb_v2 wrote %d batches", n)
	}
	mu.Lock()
	if statuses["/query"][200] == 0 {
		t.Errorf("no successful CREATE DATABASE: %v", statuses)
	}
	for path, byStatus := range statuses {
		for st := range byStatus {
			if st/100 != 2 {
				t.Errorf("%s answered %d", path, st)
			}
		}
	}
	mu.Unlock()

	// cpu_usage_user{cpu="cpu0"} at host tg-node, written by each output.
	for _, cluster := range []string{"telegraf", "hpc"} {
		found := false
		for _, si := range s.dump() {
			if si.path == cluster+"/tg-node" && si.metric == "cpu_usage_user" && si.labels == "cpu=cpu0" {
				found = true
			}
		}
		if !found {
			t.Errorf("cluster %s: no cpu_usage_user{cpu=cpu0} at tg-node", cluster)
		}
		now := time.Now().Unix()
		data := s.nativeQuery(t, cluster, "tg-node", "mem_used_percent", now-int64(seconds)-60, now+1)
		n := 0
		for _, v := range data {
			if v != nil && *v > 0 && *v <= 100 {
				n++
			}
		}
		if n == 0 {
			t.Errorf("cluster %s: mem_used_percent %v", cluster, data)
		}
	}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}
