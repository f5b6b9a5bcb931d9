package native_test

// Ingest benchmarks of the compatibility endpoints against VictoriaMetrics
// on the same load in the same run: Telegraf-shaped line protocol to the
// InfluxDB 1.x /write (BenchmarkInfluxWriteHTTP) and Prometheus remote
// write 1.0 to /api/v1/write (BenchmarkRemoteWriteVsVM). They reuse the
// harness of ingest_bench_test.go (VictoriaMetrics, child processes, CPU
// time). Figures and commands are in docs/benchmarks.md, sections
// "Influx /write (Telegraf-shaped)" and "Remote write 1.0".
//
// As there, the load is steady state: one warm-up round creates every
// series, and each later round brings one new, in-order sample per series.

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/klauspost/compress/snappy"
	"github.com/prometheus/prometheus/prompb"

	"github.com/cc-metric-bridge/cc-metric-bridge/compat/influx"
	"github.com/cc-metric-bridge/cc-metric-bridge/compat/promremote"
	"github.com/cc-metric-bridge/cc-metric-bridge/core"
	"github.com/cc-metric-bridge/cc-metric-bridge/native"
)

// peerBody produces one client's request bodies. prepare readies the next
// n bodies (outside the timer); next returns them in order, each valid
// until the next call. The first warmups bodies are the warm-up.
type peerBody interface {
	prepare(n int)
	next() []byte
}

// peerLoad describes one load for runPeerLoad.
type peerLoad struct {
	newBody        func(client int) peerBody
	warmups        int // requests per client before the timer: creates the series
	samplesPerBody int
	// batch is the number of requests per client between two pauses in
	// which the timer and the CPU count stop and prepare makes the next
	// bodies; 0 means that next does the work itself, inside the timer.
	batch  int
	header http.Header
}

// runPeerLoad is runIngestLoad for any body generator: it warms the target
// up, then keeps one request per client in flight for as long as b.Loop
// asks, handing requests to the clients in turn. It returns the number of
// samples sent, warm-up included.
func runPeerLoad(b *testing.B, url string, serverPID int, load peerLoad) (sent int) {
	client := &http.Client{
		Timeout: time.Minute,
		Transport: &http.Transport{
			MaxIdleConnsPerHost: ingestClients,
			DisableCompression:  true,
		},
	}
	defer client.CloseIdleConnections()
	post := func(body []byte) error {
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		for k, v := range load.header {
			req.Header[k] = v
		}
		resp, err := client.Do(req)
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
	bodies := make([]peerBody, ingestClients)
	size := 0
	for i := range bodies {
		bodies[i] = load.newBody(i)
		bodies[i].prepare(load.warmups)
		for range load.warmups {
			body := bodies[i].next()
			size = len(body)
			if err := post(body); err != nil {
				b.Fatalf("warm-up: %v", err)
			}
		}
	}

	var (
		wg       sync.WaitGroup
		inflight sync.WaitGroup
		errOnce  sync.Once
		firstErr error
		failed   = make(chan struct{})
	)
	// Each client sends its own series, in order, as each Telegraf or
	// Prometheus shard does; it has its own queue of one token.
	work := make([]chan struct{}, ingestClients)
	for i, body := range bodies {
		work[i] = make(chan struct{}, 1)
		wg.Go(func() {
			for range work[i] {
				err := post(body.next())
				inflight.Done()
				if err != nil {
					errOnce.Do(func() { firstErr = err; close(failed) })
					for range work[i] {
						inflight.Done()
					}
					return
				}
			}
		})
	}
	prepare := func() {
		for _, body := range bodies {
			body.prepare(load.batch)
		}
	}
	var paused time.Duration // CPU time of the pauses
	if load.batch > 0 {
		prepare()
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	cpu0, cpuOK := ingestCPU(serverPID)
	srv0, srvOK := ingestServerCPU(serverPID)
	n := 0
loop:
	for b.Loop() {
		if load.batch > 0 && n > 0 && n%(load.batch*ingestClients) == 0 {
			// Every client has used its bodies: wait for them, then make
			// the next ones with the timer and the CPU count stopped.
			b.StopTimer()
			inflight.Wait()
			c0, _ := ingestCPU(serverPID)
			prepare()
			c1, _ := ingestCPU(serverPID)
			paused += c1 - c0
			b.StartTimer()
		}
		inflight.Add(1)
		select {
		case work[n%ingestClients] <- struct{}{}:
			n++
		case <-failed:
			inflight.Done()
			break loop
		}
	}
	b.StartTimer()
	for _, w := range work {
		close(w)
	}
	wg.Wait()
	b.StopTimer()
	cpu1, cpuOK1 := ingestCPU(serverPID)
	srv1, srvOK1 := ingestServerCPU(serverPID)
	if firstErr != nil {
		b.Fatal(firstErr)
	}
	samples := float64(b.N) * float64(load.samplesPerBody)
	b.ReportMetric(samples/b.Elapsed().Seconds(), "samples/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/samples, "ns/sample")
	if cpuOK && cpuOK1 {
		// Client and server together, as in runIngestLoad.
		cpu := float64((cpu1 - cpu0 - paused).Nanoseconds())
		b.ReportMetric(cpu/samples, "cpu-ns/sample")
		b.ReportMetric(cpu/float64(b.Elapsed().Nanoseconds()), "cores")
	}
	if srvOK && srvOK1 {
		// The server process alone (targets in their own process).
		b.ReportMetric(float64((srv1-srv0).Nanoseconds())/samples, "srv-cpu-ns/sample")
	}
	return (b.N + ingestClients*load.warmups) * load.samplesPerBody
}

// ingestServerCPU is the CPU time of process pid alone; ok is false for
// pid 0 (the server runs in this process) or without /proc.
func ingestServerCPU(pid int) (time.Duration, bool) {
	if pid == 0 {
		return 0, false
	}
	all, ok := ingestCPU(pid)
	self, ok1 := ingestCPU(0)
	return all - self, ok && ok1
}

// checkVictoriaMetricsRowsOf is checkVictoriaMetricsRows for any protocol
// (typ is the type label of vm_rows_inserted_total: influx, promremotewrite).
func checkVictoriaMetricsRowsOf(b *testing.B, addr, typ string, sent int) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	metrics, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	inserted, ignored := -1.0, 0.0
	for line := range strings.Lines(string(metrics)) {
		name, val, _ := strings.Cut(strings.TrimSpace(line), " ")
		v, err := strconv.ParseFloat(val, 64)
		switch {
		case err != nil:
		case name == `vm_rows_inserted_total{type="`+typ+`"}`:
			inserted = v
		case strings.HasPrefix(name, "vm_rows_ignored_total"):
			ignored += v
		}
	}
	if inserted != float64(sent) || ignored != 0 {
		b.Fatalf("VictoriaMetrics: %v %s rows inserted of %d sent, %v ignored", inserted, typ, sent, ignored)
	}
}

// peerCluster is the cluster of the bridge's compat endpoints (Telegraf
// lines carry no cluster tag).
const peerCluster = "fritz"

// newPeerStore is the store of the compat benchmarks: every metric is
// registered on first write, at 60 s.
func newPeerStore(tb testing.TB) *core.Store {
	st, err := core.New(core.Options{DefaultFrequency: ingestStep})
	if err != nil {
		tb.Fatal(err)
	}
	return st
}

// startPeerServer serves the Influx API and the remote-write receiver on
// one store over real HTTP on 127.0.0.1, as the bridge mounts them.
func startPeerServer(tb testing.TB) (*httptest.Server, *core.Store) {
	st := newPeerStore(tb)
	gin.SetMode(gin.ReleaseMode)
	engine := native.NewEngine()
	influx.New(influx.Options{Store: st, DefaultCluster: peerCluster}).Register(engine)
	promremote.New(promremote.Options{Store: st, DefaultCluster: peerCluster}).Register(engine)
	srv := httptest.NewServer(engine)
	tb.Cleanup(srv.Close)
	return srv, st
}

const (
	peerServerEnv = "PEERS_BENCH_SERVER_DIR"
	peerServerURL = "PEERS_BENCH_SERVER_URL="
)

// TestPeersServerProcess is not a test: it is the server process of the
// bridge-proc benchmarks of this file (this test binary run again, WAL
// included), and skips unless started as such. It serves until its stdin
// is closed.
func TestPeersServerProcess(t *testing.T) {
	dir := os.Getenv(peerServerEnv)
	if dir == "" {
		t.Skip("helper process of BenchmarkInfluxWriteHTTP and BenchmarkRemoteWriteVsVM")
	}
	srv, st := startPeerServer(t)
	openIngestWAL(t, st, dir)
	fmt.Printf("%s%s\n", peerServerURL, srv.URL)
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// startPeerBridgeProcess is startIngestBridgeProcess for the compat
// endpoints (see TestPeersServerProcess).
func startPeerBridgeProcess(b *testing.B) (url string, pid int) {
	return startBridgeChild(b, "TestPeersServerProcess", peerServerEnv, peerServerURL)
}

// ---- Influx /write, Telegraf-shaped ----

// Shape of one Telegraf host per interval with inputs.cpu (12 cores plus
// cpu-total, 10 fields each), inputs.mem (1 line, 10 fields), inputs.disk
// (3 mounts, 7 fields) and inputs.net (3 interfaces, 8 fields): 20 lines
// and 185 fields (samples) per host, so a 10,000-line body carries 500
// hosts and 92,500 samples; 2 clients make 1,000 hosts, 185,000 series.
const (
	telegrafCores        = 12
	telegrafLinesPerHost = telegrafCores + 1 + 1 + 3 + 3
	telegrafFieldsOfHost = (telegrafCores+1)*10 + 10 + 3*7 + 3*8
	telegrafHostsPerBody = ingestLinesPerBody / telegrafLinesPerHost
	telegrafSamples      = telegrafHostsPerBody * telegrafFieldsOfHost
)

// telegrafBody is one client's body: the same lines every round, whose
// 19-digit nanosecond timestamps are rewritten in place (ingestBody for
// Telegraf's shape).
type telegrafBody struct {
	buf   []byte
	tsOff []int
	round int // of the body returned by the last next; -1 before
}

func newTelegrafBody(first int) *telegrafBody {
	b := &telegrafBody{buf: make([]byte, 0, 2<<20), round: -1}
	seq := 0
	// fields appends " k=v,k=v ts\n" with float or integer values.
	fields := func(names []string, ints bool) {
		for i, n := range names {
			seq++
			if i == 0 {
				b.buf = append(b.buf, ' ')
			} else {
				b.buf = append(b.buf, ',')
			}
			b.buf = append(b.buf, n...)
			b.buf = append(b.buf, '=')
			switch {
			case ints && !strings.HasSuffix(n, "_percent"):
				b.buf = strconv.AppendInt(b.buf, int64(seq)*104729, 10)
				b.buf = append(b.buf, 'i')
			case seq%4 == 0:
				b.buf = append(b.buf, '0')
			default:
				b.buf = strconv.AppendFloat(b.buf, float64(seq%1000)/10, 'f', -1, 64)
			}
		}
		b.buf = append(b.buf, ' ')
		b.tsOff = append(b.tsOff, len(b.buf))
		b.buf = strconv.AppendInt(b.buf, ingestStart*1_000_000_000, 10)
		b.buf = append(b.buf, '\n')
	}
	cpuFields := []string{"usage_user", "usage_system", "usage_idle", "usage_iowait", "usage_irq",
		"usage_softirq", "usage_steal", "usage_guest", "usage_guest_nice", "usage_nice"}
	memFields := []string{"active", "available", "available_percent", "buffered", "cached",
		"free", "inactive", "total", "used", "used_percent"}
	diskFields := []string{"free", "inodes_free", "inodes_total", "inodes_used", "total", "used", "used_percent"}
	netFields := []string{"bytes_recv", "bytes_sent", "drop_in", "drop_out", "err_in", "err_out",
		"packets_recv", "packets_sent"}
	disks := [][2]string{{"sda1", "/"}, {"sda2", "/var"}, {"nvme0n1p1", "/tmp"}}
	for h := range telegrafHostsPerBody {
		host := fmt.Sprintf("f%04d", 101+first+h)
		for c := range telegrafCores + 1 {
			cpu := "cpu-total"
			if c < telegrafCores {
				cpu = "cpu" + strconv.Itoa(c)
			}
			b.buf = append(b.buf, "cpu,cpu="+cpu+",host="+host...)
			fields(cpuFields, false)
		}
		b.buf = append(b.buf, "mem,host="+host...)
		fields(memFields, true)
		for _, d := range disks {
			b.buf = append(b.buf, "disk,device="+d[0]+",fstype=xfs,host="+host+",mode=rw,path="+d[1]...)
			fields(diskFields, true)
		}
		for _, nic := range []string{"eth0", "ib0", "lo"} {
			b.buf = append(b.buf, "net,host="+host+",interface="+nic...)
			fields(netFields, true)
		}
	}
	if len(b.tsOff) != ingestLinesPerBody || seq != telegrafSamples {
		panic(fmt.Sprintf("telegraf body shape: %d lines, %d fields", len(b.tsOff), seq))
	}
	return b
}

// prepare does nothing: next rewrites the timestamps in place, about 1% of
// the cost of storing the body, inside the timer as in BenchmarkWriteHTTP.
func (b *telegrafBody) prepare(int) {}

func (b *telegrafBody) next() []byte {
	b.round++
	var ts [19]byte
	if len(strconv.AppendInt(ts[:0], (ingestStart+ingestStep*int64(b.round))*1_000_000_000, 10)) != len(ts) {
		panic("telegraf timestamp is not 19 digits")
	}
	for _, off := range b.tsOff {
		copy(b.buf[off:off+len(ts)], ts[:])
	}
	return b.buf
}

func telegrafLoad() peerLoad {
	return peerLoad{
		newBody:        func(c int) peerBody { return newTelegrafBody(c * telegrafHostsPerBody) },
		warmups:        1,
		samplesPerBody: telegrafSamples,
		header:         http.Header{"Content-Type": {"text/plain; charset=utf-8"}},
	}
}

// BenchmarkInfluxWriteHTTP sends the same Telegraf-shaped 10,000-line
// bodies (nanosecond timestamps, the v1 default precision) with the same
// client code to our Influx v1 /write and to VictoriaMetrics' /write. One
// op is one request; a sample is one field.
func BenchmarkInfluxWriteHTTP(b *testing.B) {
	b.Run("bridge", func(b *testing.B) {
		srv, st := startPeerServer(b)
		runPeerLoad(b, srv.URL+"/write?db=telegraf", 0, telegrafLoad())
		if n := st.NumSeries(); n != ingestClients*telegrafSamples {
			b.Fatalf("%d series stored, want %d", n, ingestClients*telegrafSamples)
		}
	})
	// In its own process with the WAL, like VictoriaMetrics.
	b.Run("bridge-proc", func(b *testing.B) {
		url, pid := startPeerBridgeProcess(b)
		runPeerLoad(b, url+"/write?db=telegraf", pid, telegrafLoad())
	})
	b.Run("victoriametrics", func(b *testing.B) {
		addr, pid := startVictoriaMetrics(b)
		sent := runPeerLoad(b, "http://"+addr+"/write?db=telegraf", pid, telegrafLoad())
		checkVictoriaMetricsRowsOf(b, addr, "influx", sent)
	})
}

// ---- Prometheus remote write 1.0 ----

// Shape: node-exporter series as Prometheus scrapes them (instance, job)
// plus cluster and hostname, 100 per host: node_cpu_seconds_total for 8
// CPUs × 8 modes, 12 memory gauges, 4 network counters on 2 devices, 4
// filesystem gauges on 3 mounts, load1/5/15 and procs_running. A request
// carries 10 hosts, 1,000 series with one sample each; each client cycles
// through remoteRequests requests (100 hosts, 10,000 series), every one
// 60 s later than its previous send.
const (
	remoteSeriesPerReq = 1000
	remoteHostsPerReq  = 10
	remoteRequests     = 10
)

// remoteRequest is one request's marshalled prompb.WriteRequest whose
// timestamps (6-byte varints) are rewritten in place before snappy.
type remoteRequest struct {
	raw    []byte
	tsOffs []int
}

func newRemoteRequest(firstHost int) *remoteRequest {
	var req prompb.WriteRequest
	t0 := int64(ingestStart) * 1000
	add := func(host string, kv ...string) {
		ls := []prompb.Label{{Name: "__name__", Value: kv[0]}}
		kv = append(kv[1:], "cluster", peerCluster, "hostname", host,
			"instance", host+":9100", "job", "node")
		for i := 0; i < len(kv); i += 2 {
			ls = append(ls, prompb.Label{Name: kv[i], Value: kv[i+1]})
		}
		// Prometheus sends labels sorted by name.
		for i := 1; i < len(ls); i++ {
			for j := i; j > 0 && ls[j].Name < ls[j-1].Name; j-- {
				ls[j], ls[j-1] = ls[j-1], ls[j]
			}
		}
		n := len(req.Timeseries)
		req.Timeseries = append(req.Timeseries, prompb.TimeSeries{Labels: ls,
			Samples: []prompb.Sample{{Value: float64(n*7919%100000) / 7, Timestamp: t0}}})
	}
	for h := range remoteHostsPerReq {
		host := fmt.Sprintf("f%04d", 101+firstHost+h)
		for cpu := range 8 {
			for _, mode := range []string{"idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user"} {
				add(host, "node_cpu_seconds_total", "cpu", strconv.Itoa(cpu), "mode", mode)
			}
		}
		for _, m := range []string{"MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "Active",
			"Inactive", "SwapTotal", "SwapFree", "Dirty", "Shmem", "Slab"} {
			add(host, "node_memory_"+m+"_bytes")
		}
		for _, dev := range []string{"eth0", "ib0"} {
			for _, m := range []string{"receive_bytes", "transmit_bytes", "receive_packets", "transmit_packets"} {
				add(host, "node_network_"+m+"_total", "device", dev)
			}
		}
		for _, fs := range [][3]string{{"/dev/sda1", "xfs", "/"}, {"/dev/sda2", "xfs", "/var"}, {"tmpfs", "tmpfs", "/run"}} {
			for _, m := range []string{"avail_bytes", "free_bytes", "size_bytes", "files_free"} {
				add(host, "node_filesystem_"+m, "device", fs[0], "fstype", fs[1], "mountpoint", fs[2])
			}
		}
		for _, m := range []string{"node_load1", "node_load5", "node_load15", "node_procs_running"} {
			add(host, m)
		}
	}
	if len(req.Timeseries) != remoteSeriesPerReq {
		panic(fmt.Sprintf("remote write request of %d series", len(req.Timeseries)))
	}
	raw, err := req.Marshal()
	if err != nil {
		panic(err)
	}
	// The timestamp fields: tag 0x10 followed by the 6-byte varint of t0.
	pat := []byte{0x10}
	for v := uint64(t0); ; v >>= 7 {
		if v < 0x80 {
			pat = append(pat, byte(v))
			break
		}
		pat = append(pat, byte(v)|0x80)
	}
	if len(pat) != 7 {
		panic("timestamp varint is not 6 bytes")
	}
	r := &remoteRequest{raw: raw}
	for off := 0; ; {
		i := bytes.Index(raw[off:], pat)
		if i < 0 {
			break
		}
		r.tsOffs = append(r.tsOffs, off+i+1)
		off += i + len(pat)
	}
	if len(r.tsOffs) != remoteSeriesPerReq {
		panic(fmt.Sprintf("found %d timestamps", len(r.tsOffs)))
	}
	return r
}

// remoteBody is one client's sender: it cycles through its requests,
// setting each one's timestamps to one step after its previous send and
// snappy-encoding it, as Prometheus does per request. prepare does that
// work for the next n requests outside the timer: it costs about 120 ns
// per sample on one core (BenchmarkRemoteWriteEncode), as much as a
// tenth of what the servers spend.
type remoteBody struct {
	reqs  []*remoteRequest
	sent  int      // requests encoded so far
	ready [][]byte // encoded, not yet returned by next
	bufs  [][]byte // encoded bodies, for reuse
}

func newRemoteBody(client int) *remoteBody {
	b := &remoteBody{}
	for i := range remoteRequests {
		b.reqs = append(b.reqs, newRemoteRequest((client*remoteRequests+i)*remoteHostsPerReq))
	}
	return b
}

func (b *remoteBody) prepare(n int) {
	if len(b.ready) != 0 {
		panic("remote write bodies prepared but not sent")
	}
	for len(b.bufs) < n {
		b.bufs = append(b.bufs, nil)
	}
	for i := range n {
		b.bufs[i] = b.encode(b.bufs[i])
	}
	b.ready = b.bufs[:n]
}

func (b *remoteBody) next() []byte {
	if len(b.ready) == 0 {
		panic("no remote write body prepared")
	}
	body := b.ready[0]
	b.ready = b.ready[1:]
	return body
}

// encode encodes the next request into dst.
func (b *remoteBody) encode(dst []byte) []byte {
	r := b.reqs[b.sent%len(b.reqs)]
	t := uint64((int64(ingestStart) + ingestStep*int64(b.sent/len(b.reqs))) * 1000)
	b.sent++
	for _, off := range r.tsOffs {
		v := t
		for j := range 5 {
			r.raw[off+j] = byte(v) | 0x80
			v >>= 7
		}
		if v >= 0x80 {
			panic("timestamp does not fit 6 bytes")
		}
		r.raw[off+5] = byte(v)
	}
	return snappy.Encode(dst[:cap(dst)], r.raw)
}

func remoteLoad() peerLoad {
	return peerLoad{
		newBody:        func(c int) peerBody { return newRemoteBody(c) },
		warmups:        remoteRequests,
		samplesPerBody: remoteSeriesPerReq,
		batch:          200, // 20 rounds of each client's 10 requests, ≈ 4 MB per client
		header: http.Header{
			"Content-Type":                      {"application/x-protobuf"},
			"Content-Encoding":                  {"snappy"},
			"X-Prometheus-Remote-Write-Version": {"0.1.0"},
			"User-Agent":                        {"Prometheus/3.0.0"},
		},
	}
}

// BenchmarkRemoteWriteVsVM sends the same remote write 1.0 requests with
// the same client code to our /api/v1/write and to VictoriaMetrics'. One
// op is one request of 1,000 samples.
func BenchmarkRemoteWriteVsVM(b *testing.B) {
	b.Run("bridge", func(b *testing.B) {
		srv, st := startPeerServer(b)
		runPeerLoad(b, srv.URL+"/api/v1/write", 0, remoteLoad())
		if n, want := st.NumSeries(), int64(ingestClients*remoteRequests*remoteSeriesPerReq); n != want {
			b.Fatalf("%d series stored, want %d", n, want)
		}
	})
	b.Run("bridge-proc", func(b *testing.B) {
		url, pid := startPeerBridgeProcess(b)
		runPeerLoad(b, url+"/api/v1/write", pid, remoteLoad())
	})
	b.Run("victoriametrics", func(b *testing.B) {
		addr, pid := startVictoriaMetrics(b)
		sent := runPeerLoad(b, "http://"+addr+"/api/v1/write", pid, remoteLoad())
		checkVictoriaMetricsRowsOf(b, addr, "promremotewrite", sent)
	})
}

// BenchmarkRemoteWriteEncode is the sender's share of BenchmarkRemoteWriteVsVM
// (rewriting the timestamps and snappy): the CPU that its cpu-ns/sample
// includes on the client side for every target. One op is one request.
func BenchmarkRemoteWriteEncode(b *testing.B) {
	body := newRemoteBody(0)
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = body.encode(buf)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*remoteSeriesPerReq), "ns/sample")
}
