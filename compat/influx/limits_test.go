package influx_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/cc-metric-bridge/cc-metric-bridge/compat/influx"
)

// TestBodyLimits: bodies over MaxRequestBytes get 413 in each API's shape,
// whether the size is declared, chunked, or only reached by inflating gzip.
func TestBodyLimits(t *testing.T) {
	const limit = 4096
	s := startServer(t, func(o *influx.Options) { o.MaxRequestBytes = limit })
	big := strings.Repeat("m,hostname=a value=1 1719859200000000000\n", 2*limit/40)
	const v1Body = `{"error":"Request Entity Too Large"}` + "\n"
	const v2Body = `{"code":"request too large","message":"unable to read data: points batch is too large","maxLength":4096}` + "\n"
	for _, tc := range []struct {
		name, path string
		body       io.Reader
		gzip       bool
		want       string
	}{
		{"v1 declared", "/write?db=x", strings.NewReader(big), false, v1Body},
		{"v1 chunked", "/write?db=x", io.MultiReader(strings.NewReader(big)), false, v1Body},
		{"v1 gzip inflates beyond", "/write?db=x", bytes.NewReader(gzipBytes(t, []byte(big))), true, v1Body},
		{"v2 declared", "/api/v2/write?bucket=b", strings.NewReader(big), false, v2Body},
		{"v2 chunked gzip", "/api/v2/write?bucket=b", io.MultiReader(bytes.NewReader(gzipBytes(t, []byte(big)))), true, v2Body},
	} {
		req, _ := http.NewRequest("POST", s.URL+tc.path, tc.body)
		if tc.gzip {
			req.Header.Set("Content-Encoding", "gzip")
		}
		r := s.send(t, req)
		if r.status != 413 || r.body != tc.want {
			t.Errorf("%s: %d %q", tc.name, r.status, r.body)
		}
	}
	if n := s.store.NumSeries(); n != 0 {
		t.Errorf("%d series stored from rejected bodies", n)
	}
	// Just under the limit is fine.
	ok := big[:strings.LastIndexByte(big[:limit], '\n')+1]
	if r := s.do(t, request{path: "/write?db=x", body: ok, gzip: true}); r.status != 204 {
		t.Errorf("body under the limit: %d %s", r.status, r.body)
	}
	// /query bodies are bounded on their own.
	r := s.do(t, request{path: "/query", body: "q=" + strings.Repeat("x", 2<<20),
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
	if r.status != 400 || !strings.HasPrefix(r.body, `{"error":"cannot parse query: `) {
		t.Errorf("huge /query: %d %.100s", r.status, r.body)
	}
}

// TestGzipBombMemory: a small gzip body that inflates to 256 MiB is refused
// after reading about MaxRequestBytes of it; the server does not allocate
// anywhere near the inflated size.
func TestGzipBombMemory(t *testing.T) {
	const limit = 1 << 20
	s := startServer(t, func(o *influx.Options) { o.MaxRequestBytes = limit })
	var bomb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestSpeed)
	chunk := make([]byte, 1<<20)
	for range 256 {
		zw.Write(chunk)
	}
	zw.Close()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for _, path := range []string{"/write?db=x", "/api/v2/write?bucket=b"} {
		req, _ := http.NewRequest("POST", s.URL+path, bytes.NewReader(bomb.Bytes()))
		req.Header.Set("Content-Encoding", "gzip")
		if r := s.send(t, req); r.status != 413 {
			t.Errorf("%s: %d %s", path, r.status, r.body)
		}
	}
	runtime.ReadMemStats(&after)
	// Both requests together: the compressed body (about 1 MB) sent by the
	// client, the pooled 2 MiB buffer, HTTP plumbing.
	if got := after.TotalAlloc - before.TotalAlloc; got > 64<<20 {
		t.Errorf("allocated %d MiB for two %d KiB bombs", got>>20, bomb.Len()>>10)
	}
}

// TestLongLines: a line over MaxLineBytes is a bad line (400), not a reason
// to buffer it: v1 stores the other lines, v2 none.
func TestLongLines(t *testing.T) {
	s := startServer(t, func(o *influx.Options) { o.MaxLineBytes = 100 })
	long := "m,hostname=a,pad=" + strings.Repeat("x", 300) + " value=1 1719859200"
	body := "m1,hostname=a value=1 1719859200\n" + long + "\r\nm2,hostname=a value=2 1719859200\n" + long + "\nbad\nm3,hostname=a value=3 1719859200"
	r := s.do(t, request{path: "/write?precision=s", body: body})
	want := `{"error":"partial write: unable to parse '` + long[:influx.MaxQuotedLineBytes] + `...': line too long: line exceeds 100 bytes` +
		`\nunable to parse '` + long[:influx.MaxQuotedLineBytes] + `...': line too long: line exceeds 100 bytes` +
		`\nunable to parse 'bad': `
	if r.status != 400 || !strings.HasPrefix(r.body, want) {
		t.Fatalf("v1: %d %s", r.status, r.body)
	}
	if got := s.dump(); len(got) != 3 {
		t.Errorf("v1 stored %v, want m1, m2, m3", got)
	}

	s = startServer(t, func(o *influx.Options) { o.MaxLineBytes = 100 })
	r = s.do(t, request{path: "/api/v2/write?bucket=b&precision=s", body: body})
	if r.status != 400 || !strings.Contains(r.body, `"line":2}`) {
		t.Errorf("v2: %d %s", r.status, r.body)
	}
	if n := s.store.NumSeries(); n != 0 {
		t.Errorf("v2 stored %d series from a rejected batch", n)
	}
}
