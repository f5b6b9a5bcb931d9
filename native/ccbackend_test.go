package native_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// The fixture of reference section 6.5: cluster fritz, 2 hosts, topology
// 2 sockets × 2 cores × 2 SMT (hwthreads 0-7; cores [0,4] [1,5] [2,6] [3,7];
// sockets [0,1,4,5] [2,3,6,7]), one accelerator with ':' in its id; one hour
// at 60 s on one grid, identical across children.
const (
	fxFrom  = 1_700_000_000
	fxSteps = 60
	fxAcc   = "00000000:3B:00.0"
)

var fxHosts = []string{"f0101", "f0102"}

// fxValue is the value of metric m on host h, child id c, step i.
func fxValue(m string, h, c, i int) float64 {
	switch m {
	case "cpu_load":
		return float64(h+1) + float64(i%10)/4
	case "flops_any":
		return 1e9*float64(c+1) + float64(i)*1e6 + float64(h)*5e8
	case "cpu_user":
		return float64(10*c+i%7) + float64(h)
	case "mem_bw":
		return 10432.55 + float64(1000*c) + float64(i)*3.25 + float64(h)
	case "acc_utilization":
		return float64((i*37)%101) + float64(h)
	}
	panic(m)
}

func writeFixture(t *testing.T, srv *testServer) {
	t.Helper()
	var b strings.Builder
	for i := 0; i < fxSteps; i++ {
		ts := fxFrom + 60*i
		for h, host := range fxHosts {
			fmt.Fprintf(&b, "cpu_load,cluster=fritz,hostname=%s,type=node value=%v %d\n", host, fxValue("cpu_load", h, 0, i), ts)
			for c := 0; c < 8; c++ {
				fmt.Fprintf(&b, "flops_any,cluster=fritz,hostname=%s,type=hwthread,type-id=%d value=%v %d\n", host, c, fxValue("flops_any", h, c, i), ts)
				fmt.Fprintf(&b, "cpu_user,cluster=fritz,hostname=%s,type=hwthread,type-id=%d value=%v %d\n", host, c, fxValue("cpu_user", h, c, i), ts)
			}
			for s := 0; s < 2; s++ {
				fmt.Fprintf(&b, "mem_bw,cluster=fritz,hostname=%s,type=socket,type-id=%d value=%v %d\n", host, s, fxValue("mem_bw", h, s, i), ts)
			}
			fmt.Fprintf(&b, "acc_utilization,cluster=fritz,hostname=%s,type=accelerator,type-id=%s value=%vi %d\n", host, fxAcc, int(fxValue("acc_utilization", h, 0, i)), ts)
		}
	}
	if status, body := srv.do(t, "POST", "/api/write?cluster=fritz", b.String()); status != 200 || body != "" {
		t.Fatalf("fixture write: %d %q", status, body)
	}
}

// q builds a query object exactly as cc-backend's client marshals it.
func q(typ, metric, host string, res int, ids []string, aggreg bool) string {
	var b strings.Builder
	b.WriteString("{")
	if typ != "" {
		fmt.Fprintf(&b, `"type":%q,`, typ)
	}
	fmt.Fprintf(&b, `"metric":%q,"host":%q,"resolution":%d,`, metric, host, res)
	if len(ids) > 0 {
		j, _ := json.Marshal(ids)
		fmt.Fprintf(&b, `"type-ids":%s,`, j)
	}
	fmt.Fprintf(&b, `"aggreg":%v}`, aggreg)
	return b.String()
}

// request is cc-backend's APIQueryRequest in its field order.
func request(queries []string, forAll string, withStats, withData bool) string {
	qs := "null"
	if queries != nil {
		qs = "[" + strings.Join(queries, ",") + "]"
	}
	if forAll == "" {
		forAll = "null"
	}
	return fmt.Sprintf(`{"cluster":"fritz","queries":%s,"for-all-nodes":%s,"from":%d,"to":%d,"with-stats":%v,"with-data":%v}`,
		qs, forAll, fxFrom, fxFrom+3600, withStats, withData)
}

var (
	allHW   = []string{"0", "1", "2", "3", "4", "5", "6", "7"}
	cores   = [][]string{{"0", "4"}, {"1", "5"}, {"2", "6"}, {"3", "7"}}
	sockets = [][]string{{"0", "1", "4", "5"}, {"2", "3", "6", "7"}}
)

// ccBackendRequests are the requests cc-backend 1.5's metricstoreclient
// sends (reference section 6.2), by scope.
func ccBackendRequests() map[string]string {
	jobQueries := func(res int) []string {
		var out []string
		for _, h := range fxHosts {
			out = append(out, q("", "cpu_load", h, res, nil, false))
		}
		for _, h := range fxHosts {
			out = append(out, q("hwthread", "flops_any", h, res, allHW, true))
		}
		for _, h := range fxHosts {
			out = append(out, q("socket", "mem_bw", h, res, []string{"0", "1"}, true))
		}
		return out
	}
	var archiver []string
	for _, h := range fxHosts {
		archiver = append(archiver, q("", "cpu_load", h, 0, nil, false))
		archiver = append(archiver, q("hwthread", "flops_any", h, 0, allHW, true))
		for _, c := range cores {
			archiver = append(archiver, q("hwthread", "flops_any", h, 0, c, true))
		}
		archiver = append(archiver, q("socket", "mem_bw", h, 0, []string{"0", "1"}, true))
		archiver = append(archiver, q("socket", "mem_bw", h, 0, []string{"0", "1"}, false))
		archiver = append(archiver, q("accelerator", "acc_utilization", h, 0, []string{fxAcc}, true))
		archiver = append(archiver, q("accelerator", "acc_utilization", h, 0, []string{fxAcc}, false))
	}
	var scoped []string
	for _, h := range fxHosts {
		scoped = append(scoped, q("hwthread", "cpu_user", h, 0, allHW, false))
		for _, s := range sockets {
			scoped = append(scoped, q("hwthread", "cpu_user", h, 0, s, true))
		}
		scoped = append(scoped, q("hwthread", "cpu_user", h, 0, allHW, true))
	}
	var nodeList []string
	for _, h := range fxHosts {
		nodeList = append(nodeList, q("", "cpu_load", h, 0, nil, false), q("", "flops_any", h, 0, nil, false))
	}
	return map[string]string{
		"job-node-res240":        request(jobQueries(240), "", true, true),
		"job-node-res0":          request(jobQueries(0), "", true, true),
		"archiver-node-core-acc": request(archiver, "", true, true),
		"loadstats-node":         request(jobQueries(0), "", true, false),
		"loadscopedstats":        request(scoped, "", true, false),
		"nodedata-for-all-nodes": request(nil, `["cpu_load","mem_bw"]`, true, true),
		"nodelist":               request(nodeList, "", true, true),
	}
}

// TestCCBackendRequests answers cc-backend's request shapes; the answers are
// checked against golden files and, value by value, against the fixture
// model (sum/avg over the requested ids).
func TestCCBackendRequests(t *testing.T) {
	srv := startServer(t, map[string][2]any{
		"cpu_load": {60, "null"}, "flops_any": {60, "sum"}, "cpu_user": {60, "avg"},
		"mem_bw": {60, "sum"}, "acc_utilization": {60, "avg"},
	})
	writeFixture(t, srv)
	for name, body := range ccBackendRequests() {
		t.Run(name, func(t *testing.T) {
			status, got := srv.do(t, "GET", "/api/query?version=v2", body)
			if status != 200 {
				t.Fatalf("status %d: %s", status, got)
			}
			golden := filepath.Join("testdata", "ccbackend", name+".json")
			if *update {
				os.MkdirAll(filepath.Dir(golden), 0o755)
				os.WriteFile(golden, []byte(got), 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("answer differs from %s", golden)
			}
			checkModel(t, body, got)
		})
	}
}

// checkModel recomputes every entry from fxValue.
func checkModel(t *testing.T, reqBody, respBody string) {
	var req struct {
		Queries []struct {
			Type    string   `json:"type"`
			Metric  string   `json:"metric"`
			Host    string   `json:"host"`
			Res     int      `json:"resolution"`
			TypeIDs []string `json:"type-ids"`
			Aggreg  bool     `json:"aggreg"`
		} `json:"queries"`
		WithData bool `json:"with-data"`
	}
	var resp struct {
		Queries json.RawMessage `json:"queries"`
		Results [][]struct {
			Data       []*float64 `json:"data"`
			From, To   int64
			Resolution int64
			Avg        *float64 `json:"avg"`
			Error      string   `json:"error"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(reqBody), &req); err != nil {
		t.Fatal(err)
	}
	if err := json.NewDecoder(bytes.NewReader([]byte(respBody))).Decode(&resp); err != nil {
		t.Fatal(err)
	}
	if req.Queries == nil {
		if err := json.Unmarshal(resp.Queries, &req.Queries); err != nil {
			t.Fatal(err)
		}
	}
	if len(resp.Results) != len(req.Queries) {
		t.Fatalf("%d result rows for %d queries", len(resp.Results), len(req.Queries))
	}
	hostIdx := map[string]int{"f0101": 0, "f0102": 1}
	for i, qq := range req.Queries {
		// entry j covers ids[j] (aggreg false) or all ids (aggreg true)
		groups := [][]string{{"0"}}
		switch {
		case qq.Type == "" && (qq.Metric == "flops_any"):
			groups = [][]string{allHW}
		case qq.Type == "" && qq.Metric == "mem_bw":
			groups = [][]string{{"0", "1"}}
		case qq.Type != "" && qq.Aggreg:
			groups = [][]string{qq.TypeIDs}
		case qq.Type != "":
			groups = nil
			for _, id := range qq.TypeIDs {
				groups = append(groups, []string{id})
			}
		}
		row := resp.Results[i]
		if len(row) != len(groups) {
			t.Fatalf("query %d: %d entries, want %d", i, len(row), len(groups))
		}
		for j, ids := range groups {
			e := row[j]
			if e.Error != "" || e.From != fxFrom || e.To != fxFrom+3600 || e.Resolution != 60 {
				t.Fatalf("query %d entry %d: %+v", i, j, e)
			}
			if !req.WithData {
				if e.Data != nil {
					t.Fatalf("query %d: data present with with-data false", i)
				}
			} else if len(e.Data) != fxSteps {
				t.Fatalf("query %d: %d points", i, len(e.Data))
			}
			sum := 0.0
			for k := 0; k < fxSteps; k++ {
				want := 0.0
				for _, id := range ids {
					c := 0
					if id != fxAcc {
						fmt.Sscan(id, &c)
					}
					want += fxValue(qq.Metric, hostIdx[qq.Host], c, k)
				}
				if len(ids) > 1 && (qq.Metric == "cpu_user" || qq.Metric == "acc_utilization") {
					want *= 1 / float64(len(ids))
				}
				sum += want
				if req.WithData && math.Abs(*e.Data[k]-want) > 0.0005+1e-12*math.Abs(want) {
					t.Fatalf("query %d %s@%s ids %v step %d: got %v, want %v", i, qq.Metric, qq.Host, ids, k, *e.Data[k], want)
				}
			}
			if avg := sum / fxSteps; math.Abs(*e.Avg-avg) > 0.005+1e-12*math.Abs(avg) {
				t.Fatalf("query %d: avg %v, want %v", i, *e.Avg, avg)
			}
		}
	}
}
