package native_test

// Ingest benchmarks: how fast cc-metric-collector style line protocol gets
// into the store, in process (BenchmarkDecodeStore) and over real HTTP
// against VictoriaMetrics on the same load (BenchmarkWriteHTTP). Figures and
// commands are recorded in docs/benchmarks.md, section "Ingest".
//
// The load models steady state, the case that matters in production: every
// series already exists (one warm-up round creates them), and every round
// brings one new, in-order sample per series, 60 s after the previous one.

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
	"github.com/cc-metric-bridge/cc-metric-bridge/core/lineproto"
	"github.com/cc-metric-bridge/cc-metric-bridge/core/persist"
)

// Shape of one cc-metric-collector host tick: 28 node metrics, 12 metrics
// on each of 2 sockets and 34 metrics on each of 72 hardware threads, i.e.
// 2500 lines per host, so a 10,000-line body carries 4 hosts.
const (
	ingestHostsPerBody = 4
	ingestSockets      = 2
	ingestHWThreads    = 72
	ingestLinesPerBody = 10_000
	// ingestStart is midnight UTC, so that the first 1440 rounds fall on one
	// day: VictoriaMetrics adds per-day index entries when a series gets its
	// first sample of a day. A 10 s run still crosses about one midnight,
	// which production does once a day: a small handicap for VictoriaMetrics.
	ingestStart = 1699920000 // 2023-11-14T00:00:00Z
	ingestStep  = 60         // seconds between rounds
)

var (
	ingestNodeMetrics = []string{
		"cpu_load", "load_five", "load_fifteen", "proc_run", "proc_total",
		"mem_used", "mem_total", "mem_free", "mem_cached", "mem_buffers",
		"swap_total", "swap_free", "net_bytes_in", "net_bytes_out",
		"net_pkts_in", "net_pkts_out", "ib_recv", "ib_xmit", "ib_recv_pkts",
		"ib_xmit_pkts", "lustre_read_bw", "lustre_write_bw", "lustre_open",
		"lustre_close", "nfs4_read", "nfs4_write", "disk_free", "disk_total",
	}
	ingestSocketMetrics = []string{
		"mem_bw", "mem_bw_read", "mem_bw_write", "mem_power", "cpu_power",
		"rapl_pkg_energy", "rapl_dram_energy", "core_temp", "uncore_clock",
		"l3_bw", "l3_miss_rate", "upi_bw",
	}
	ingestHWThreadMetrics = []string{
		"flops_any", "flops_dp", "flops_sp", "ipc", "cpi", "clock",
		"cpu_user", "cpu_system", "cpu_idle", "cpu_iowait", "cpu_irq",
		"cpu_softirq", "cpu_steal", "cpu_guest", "cpu_nice", "instructions",
		"cycles", "ref_cycles", "branch_rate", "branch_miss_rate",
		"l1d_miss_rate", "l2_bw", "l2_miss_rate", "l3_miss",
		"vectorization_ratio", "avx512_ratio", "fp_scalar", "fp_128",
		"fp_256", "fp_512", "dtlb_miss_rate", "itlb_miss_rate", "stall_mem",
		"stall_fe",
	}
	// Counters are sent as integers ("42i"), everything else as floats.
	ingestIntMetrics = map[string]bool{
		"proc_run": true, "proc_total": true, "ib_recv_pkts": true, "ib_xmit_pkts": true,
		"lustre_open": true, "lustre_close": true, "instructions": true, "cycles": true,
		"ref_cycles": true,
	}
)

// ingestMetrics is the metrics section a site would configure for this
// load (every metric at 60 s), for startServer.
func ingestMetrics() map[string][2]any {
	m := map[string][2]any{}
	for _, list := range [][]string{ingestNodeMetrics, ingestSocketMetrics, ingestHWThreadMetrics} {
		for _, name := range list {
			m[name] = [2]any{ingestStep, "sum"}
		}
	}
	return m
}

// ingestBody is one client's body: always the same lines (same series,
// same values) whose timestamps are rewritten in place for each round, so
// that bodies are built once, before the timer, and still carry new
// samples every round.
type ingestBody struct {
	buf   []byte
	tsOff []int // offset of each line's 10-digit timestamp
	round int
}

// newIngestBody renders the 10,000 lines for hosts f0101+first ... in the
// order cc-metric-collector emits them: per host, metric by metric, each
// metric for all its sockets or hardware threads. Consecutive lines thus
// go to different series, as in production.
func newIngestBody(first int) *ingestBody {
	if n := len(ingestNodeMetrics) + ingestSockets*len(ingestSocketMetrics) +
		ingestHWThreads*len(ingestHWThreadMetrics); n*ingestHostsPerBody != ingestLinesPerBody {
		panic(fmt.Sprintf("ingest body shape: %d lines per host", n))
	}
	b := &ingestBody{buf: make([]byte, 0, 1<<20), tsOff: make([]int, 0, ingestLinesPerBody)}
	seq := 0
	line := func(metric, host, typ string, id int) {
		seq++
		b.buf = append(b.buf, metric...)
		b.buf = append(b.buf, ",cluster=fritz,hostname="...)
		b.buf = append(b.buf, host...)
		b.buf = append(b.buf, ",type="...)
		b.buf = append(b.buf, typ...)
		if id >= 0 {
			b.buf = append(b.buf, ",type-id="...)
			b.buf = strconv.AppendInt(b.buf, int64(id), 10)
		}
		b.buf = append(b.buf, " value="...)
		// A spread of the forms collectors print: short decimals, exponent
		// notation, long fractions and integers.
		switch {
		case ingestIntMetrics[metric]:
			b.buf = strconv.AppendInt(b.buf, int64(seq)*7919, 10)
			b.buf = append(b.buf, 'i')
		case seq%3 == 0:
			b.buf = strconv.AppendFloat(b.buf, float64(seq%97)/100, 'f', -1, 64)
		case seq%3 == 1:
			b.buf = strconv.AppendFloat(b.buf, float64(seq)*1.25e6, 'e', -1, 64)
		default:
			b.buf = strconv.AppendFloat(b.buf, float64(seq)/7, 'f', -1, 64)
		}
		b.buf = append(b.buf, ' ')
		b.tsOff = append(b.tsOff, len(b.buf))
		b.buf = strconv.AppendInt(b.buf, ingestStart, 10)
		b.buf = append(b.buf, '\n')
	}
	for h := range ingestHostsPerBody {
		host := fmt.Sprintf("f%04d", 101+first+h)
		for _, m := range ingestNodeMetrics {
			line(m, host, "node", -1)
		}
		for _, m := range ingestSocketMetrics {
			for s := range ingestSockets {
				line(m, host, "socket", s)
			}
		}
		for _, m := range ingestHWThreadMetrics {
			for t := range ingestHWThreads {
				line(m, host, "hwthread", t)
			}
		}
	}
	return b
}

// next moves the body to its next round (round 0 is the warm-up) by
// rewriting every timestamp; about 1% of the cost of storing the body.
func (b *ingestBody) next() {
	b.round++
	var ts [10]byte
	if len(strconv.AppendInt(ts[:0], int64(ingestStart+ingestStep*b.round), 10)) != len(ts) {
		panic("ingest timestamp is not 10 digits")
	}
	for _, off := range b.tsOff {
		copy(b.buf[off:off+len(ts)], ts[:])
	}
}

// BenchmarkDecodeStore measures the write path without HTTP: lineproto
// decodes a 10,000-line body in Native mode straight into a core.Appender,
// on one goroutine, as native.API.write does. One op is one body.
func BenchmarkDecodeStore(b *testing.B) {
	var cfgs []core.MetricConfig
	for name := range ingestMetrics() {
		cfgs = append(cfgs, core.MetricConfig{Name: name, Frequency: ingestStep, Aggregation: core.AggSum})
	}
	st, err := core.New(core.Options{Metrics: cfgs, DefaultFrequency: 60})
	if err != nil {
		b.Fatal(err)
	}
	body := newIngestBody(0)
	dec := lineproto.NewDecoder()
	store := func() {
		app := st.Appender()
		s, err := dec.Decode(body.buf, lineproto.Options{Mode: lineproto.Native, Now: time.Now().UnixMilli()}, app)
		if cerr := app.Commit(); err == nil {
			err = cerr
		}
		if err != nil || s.Samples != ingestLinesPerBody {
			b.Fatalf("round %d: %+v, %v", body.round, s, err)
		}
	}
	store() // warm-up: creates the series and grows the decoder's buffers

	b.SetBytes(int64(len(body.buf)))
	// The decoder allocates once per body (lp/v2's Decoder) and nothing per
	// line; the rest of allocs/op is the store keeping the data: every 64
	// samples a series seals its head into a compressed chunk (and the
	// chunk list grows), ~0.02 allocations per sample on average.
	b.ReportAllocs()
	cpu0, cpuOK := ingestCPU(0)
	for b.Loop() {
		// Rewriting the timestamps is the sender's work, not ours.
		b.StopTimer()
		body.next()
		b.StartTimer()
		store()
	}
	cpu1, cpuOK1 := ingestCPU(0)
	samples := float64(b.N) * ingestLinesPerBody
	b.ReportMetric(samples/b.Elapsed().Seconds(), "samples/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/samples, "ns/sample")
	if cpuOK && cpuOK1 {
		// Process CPU time: the loop plus the GC's background work on
		// other cores (and the ~1% of rewriting timestamps). Unlike
		// ns/sample it does not grow when other work competes for the core.
		b.ReportMetric(float64((cpu1-cpu0).Nanoseconds())/samples, "cpu-ns/sample")
	}
}

// ingestClients is the number of concurrent HTTP clients; each sends its own
// hosts (as each collector sends its own node), so that every series gets
// its samples in order.
const ingestClients = 2

// BenchmarkWriteHTTP sends the same bodies with the same client code to our
// /api/write and to VictoriaMetrics' InfluxDB endpoint /write, both on
// 127.0.0.1. One op is one 10,000-line request; the client shares the
// machine with the server under test, equally for both targets.
func BenchmarkWriteHTTP(b *testing.B) {
	b.Run("bridge", func(b *testing.B) {
		srv := startServer(b, ingestMetrics())
		// Native mode guesses the timestamp unit (seconds) from its size.
		runIngestLoad(b, srv.URL+"/api/write", 0)
	})
	// As deployed: every acknowledged batch is also written to the WAL.
	b.Run("bridge-wal", func(b *testing.B) {
		srv := startServer(b, ingestMetrics())
		openIngestWAL(b, srv.store, b.TempDir())
		runIngestLoad(b, srv.URL+"/api/write", 0)
	})
	// The same in its own process, like VictoriaMetrics: client and server
	// no longer share one GOMAXPROCS, and when other work competes for the
	// cores, the server gets the same share of them as VictoriaMetrics.
	b.Run("bridge-proc", func(b *testing.B) {
		url, pid := startIngestBridgeProcess(b)
		runIngestLoad(b, url+"/api/write", pid)
	})
	b.Run("victoriametrics", func(b *testing.B) {
		addr, pid := startVictoriaMetrics(b)
		sent := runIngestLoad(b, "http://"+addr+"/write?precision=s", pid)
		checkVictoriaMetricsRows(b, addr, sent)
	})
}

// runIngestLoad warms the target up with one round per client, then keeps
// ingestClients requests in flight for as long as b.Loop asks. serverPID is
// the target's process, 0 when it runs in this one. It returns the number
// of samples sent, warm-up included.
func runIngestLoad(b *testing.B, url string, serverPID int) (sent int) {
	client := &http.Client{
		Timeout: time.Minute, // bounds every request, so the loop cannot hang
		Transport: &http.Transport{
			MaxIdleConnsPerHost: ingestClients,
			DisableCompression:  true,
		},
	}
	defer client.CloseIdleConnections()
	bodies := make([]*ingestBody, ingestClients)
	for i := range bodies {
		bodies[i] = newIngestBody(i * ingestHostsPerBody)
		if err := postIngest(client, url, bodies[i].buf); err != nil {
			b.Fatalf("warm-up: %v", err)
		}
	}

	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
		failed   = make(chan struct{})
	)
	work := make(chan struct{}) // one token per request; unbuffered
	for _, body := range bodies {
		wg.Go(func() {
			for range work {
				body.next()
				if err := postIngest(client, url, body.buf); err != nil {
					errOnce.Do(func() { firstErr = err; close(failed) })
					return
				}
			}
		})
	}
	b.SetBytes(int64(len(bodies[0].buf)))
	b.ReportAllocs() // of this process: the client, plus the server for bridge and bridge-wal
	cpu0, cpuOK := ingestCPU(serverPID)
loop:
	for b.Loop() {
		select {
		case work <- struct{}{}:
		case <-failed:
			break loop
		}
	}
	// b.Loop stopped the timer when it handed out the last token; count
	// the requests still in flight too.
	b.StartTimer()
	close(work)
	wg.Wait()
	b.StopTimer()
	cpu1, cpuOK1 := ingestCPU(serverPID)
	if firstErr != nil {
		b.Fatal(firstErr)
	}
	samples := float64(b.N) * ingestLinesPerBody
	b.ReportMetric(samples/b.Elapsed().Seconds(), "samples/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/samples, "ns/sample")
	if cpuOK && cpuOK1 {
		// CPU time of client and server together: unlike the rate, it
		// hardly depends on what else runs on the machine, and it says
		// whether the rate was bounded by CPU (cores ≈ GOMAXPROCS) or not.
		cpu := float64((cpu1 - cpu0).Nanoseconds())
		b.ReportMetric(cpu/samples, "cpu-ns/sample")
		b.ReportMetric(cpu/float64(b.Elapsed().Nanoseconds()), "cores")
	}
	return (b.N + ingestClients) * ingestLinesPerBody
}

// checkVictoriaMetricsRows makes sure that VictoriaMetrics took every row
// it answered 204 for: none ignored (e.g. for a timestamp out of the
// retention) and as many parsed as were sent.
func checkVictoriaMetricsRows(b *testing.B, addr string, sent int) {
	checkVictoriaMetricsRowsOf(b, addr, "influx", sent)
}

// ingestCPU returns the CPU time (user + system) used so far by this
// process plus, if serverPID is not 0, by process serverPID. It reads
// /proc (USER_HZ = 100), so ok is false on systems without it.
func ingestCPU(serverPID int) (cpu time.Duration, ok bool) {
	pids := []string{"self"}
	if serverPID != 0 {
		pids = append(pids, strconv.Itoa(serverPID))
	}
	for _, pid := range pids {
		stat, err := os.ReadFile("/proc/" + pid + "/stat")
		if err != nil {
			return 0, false
		}
		// Fields after "(comm)": state is field 3, utime 14, stime 15.
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(f) < 13 {
			return 0, false
		}
		for _, x := range f[11:13] {
			ticks, err := strconv.ParseInt(x, 10, 64)
			if err != nil {
				return 0, false
			}
			cpu += time.Duration(ticks) * time.Second / 100
		}
	}
	return cpu, true
}

// postIngest sends one body and requires a 2xx answer (VictoriaMetrics
// answers 204, the bridge 200). Both servers read the whole body before
// they answer, so the caller may rewrite it once this returns.
func postIngest(client *http.Client, url string, body []byte) error {
	resp, err := client.Post(url, "text/plain; charset=utf-8", bytes.NewReader(body))
	if err != nil {
		return err
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %s: %s", url, resp.Status, msg)
	}
	return nil
}

// victoriaMetricsBinary returns the path of the single-node VictoriaMetrics
// binary: $PEERS_BIN (the binary or its directory), else
// ~/.cache/peers/bin/victoria-metrics.
func victoriaMetricsBinary() (string, error) {
	p := os.Getenv("PEERS_BIN")
	if p == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		p = filepath.Join(home, ".cache", "peers", "bin")
	}
	if fi, err := os.Stat(p); err == nil && fi.IsDir() {
		p = filepath.Join(p, "victoria-metrics")
	}
	fi, err := os.Stat(p)
	if err != nil {
		return "", err
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return "", fmt.Errorf("%s is not an executable file", p)
	}
	return p, nil
}

// startVictoriaMetrics starts VictoriaMetrics on a free 127.0.0.1 port with
// its data in a temporary directory, waits until /health answers and
// returns its address and process id. It is stopped with SIGTERM when b
// ends (see startIngestProcess).
func startVictoriaMetrics(b *testing.B) (addr string, pid int) {
	bin, err := victoriaMetricsBinary()
	if err != nil {
		b.Skipf("VictoriaMetrics binary not available (set PEERS_BIN to it or its directory): %v", err)
	}
	dir := b.TempDir() // removed after the process has been stopped
	if addr, err = freeLocalAddr(); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin,
		"-httpListenAddr="+addr,
		"-storageDataPath="+filepath.Join(dir, "data"),
		"-retentionPeriod=100y",
	)
	log := filepath.Join(dir, "victoria-metrics.log")
	exited := startIngestProcess(b, cmd, log, func() { _ = cmd.Process.Signal(syscall.SIGTERM) })

	// Wait (at most 30 s) for /health to answer 200.
	client := &http.Client{Timeout: time.Second}
	defer client.CloseIdleConnections()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		resp, err := client.Get("http://" + addr + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr, cmd.Process.Pid
			}
		}
		select {
		case <-exited:
			b.Fatalf("VictoriaMetrics exited during start-up:\n%s", ingestLogTail(log))
		case <-time.After(50 * time.Millisecond):
		}
	}
	b.Fatalf("VictoriaMetrics not healthy after 30 s:\n%s", ingestLogTail(log))
	return "", 0
}

// ingestServerEnv, set in the environment of a child test process, makes
// TestIngestServerProcess serve the bridge with its WAL in that directory.
const ingestServerEnv = "INGEST_BENCH_SERVER_DIR"

// ingestServerURL prefixes the line by which that child announces its URL.
const ingestServerURL = "INGEST_BENCH_SERVER_URL="

// TestIngestServerProcess is not a test: it is the server process of
// BenchmarkWriteHTTP/bridge-proc (this test binary run again), and skips
// unless started as such. It serves until its stdin is closed.
func TestIngestServerProcess(t *testing.T) {
	dir := os.Getenv(ingestServerEnv)
	if dir == "" {
		t.Skip("helper process of BenchmarkWriteHTTP/bridge-proc")
	}
	srv := startServer(t, ingestMetrics())
	openIngestWAL(t, srv.store, dir)
	fmt.Printf("%s%s\n", ingestServerURL, srv.URL)
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes it or dies
}

// startIngestBridgeProcess runs the bridge, WAL included, in a child process
// (this test binary, see TestIngestServerProcess) and returns its URL and
// process id, so that it is measured exactly like VictoriaMetrics: its own
// process, its own GOMAXPROCS, the client in this one.
func startIngestBridgeProcess(b *testing.B) (url string, pid int) {
	return startBridgeChild(b, "TestIngestServerProcess", ingestServerEnv, ingestServerURL)
}

// startBridgeChild runs this test binary's server test testName as a child
// process (env names its data directory) and waits for the line with
// urlPrefix that announces its URL.
func startBridgeChild(b *testing.B, testName, env, urlPrefix string) (url string, pid int) {
	dir := b.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^"+testName+"$", "-test.timeout=0")
	cmd.Env = append(os.Environ(), env+"="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	urls := make(chan string, 1)
	cmd.Stdout = &lineWatcher{prefix: urlPrefix, found: urls}
	log := filepath.Join(dir, "bridge.log")
	exited := startIngestProcess(b, cmd, log, func() { stdin.Close() })
	select {
	case url = <-urls:
		return url, cmd.Process.Pid
	case <-exited:
		b.Fatalf("bridge process exited during start-up:\n%s", ingestLogTail(log))
	case <-time.After(30 * time.Second):
		b.Fatalf("bridge process did not start in 30 s:\n%s", ingestLogTail(log))
	}
	return "", 0
}

// lineWatcher is a child's stdout: it sends the rest of the first line that
// starts with prefix to found.
type lineWatcher struct {
	prefix string
	found  chan<- string
	buf    []byte
	done   bool
}

func (w *lineWatcher) Write(p []byte) (int, error) {
	if w.done {
		return len(p), nil
	}
	w.buf = append(w.buf, p...)
	for {
		line, rest, ok := bytes.Cut(w.buf, []byte("\n"))
		if !ok {
			break
		}
		if v, ok := bytes.CutPrefix(line, []byte(w.prefix)); ok {
			w.found <- string(v)
			w.done, w.buf = true, nil
			break
		}
		w.buf = rest
	}
	if len(w.buf) > 64<<10 {
		w.buf = nil // no such line is that long
	}
	return len(p), nil
}

// startIngestProcess starts cmd (its stderr, and its stdout unless set, to
// the file log) and returns a channel closed when it has exited. When b
// ends, stop is called and the process waited for, SIGKILLed after 30 s;
// if the test binary dies first, Linux kills it (see killWithParent).
func startIngestProcess(b *testing.B, cmd *exec.Cmd, log string, stop func()) <-chan struct{} {
	logf, err := os.Create(log)
	if err != nil {
		b.Fatal(err)
	}
	if cmd.Stdout == nil {
		cmd.Stdout = logf
	}
	cmd.Stderr = logf
	cmd.SysProcAttr = killWithParent()
	if err := cmd.Start(); err != nil {
		logf.Close()
		b.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(exited) }()
	b.Cleanup(func() {
		stop()
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	return exited
}

// openIngestWAL attaches the WAL (in dir) to st as the server does: every
// acknowledged batch is written to it, fsync every second (the default,
// like VictoriaMetrics' periodic flushes); no snapshot during the run.
func openIngestWAL(tb testing.TB, st *core.Store, dir string) {
	m, err := persist.Open(st, persist.Options{
		SnapshotDir:      filepath.Join(dir, "checkpoints"),
		WALDir:           filepath.Join(dir, "wal"),
		Fsync:            time.Second,
		SnapshotInterval: 12 * time.Hour,
		Log:              slog.New(slog.DiscardHandler),
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := m.Close(); err != nil {
			tb.Error(err)
		}
	})
}

// killWithParent asks Linux to SIGKILL the child when the test binary dies
// without running its cleanups (-timeout panic, Ctrl-C), so that no
// VictoriaMetrics is left running. Pdeathsig exists only on Linux, hence
// reflection instead of a build-tagged file; elsewhere it is a no-op.
func killWithParent() *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{}
	if f := reflect.ValueOf(attr).Elem().FieldByName("Pdeathsig"); f.IsValid() && f.CanSet() {
		f.Set(reflect.ValueOf(syscall.SIGKILL).Convert(f.Type()))
	}
	return attr
}

// freeLocalAddr returns a 127.0.0.1 address with a port that was free a
// moment ago.
func freeLocalAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		return "", err
	}
	return addr, nil
}

// ingestLogTail returns the end of a child's log file.
func ingestLogTail(path string) []byte {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return b
}
