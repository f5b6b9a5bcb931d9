package influx_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/cc-metric-bridge/cc-metric-bridge/compat/influx"
)

// TestStatusAndQuery covers items 42 (/ping, /health) and 43 (/query).
// With auth on, only /query needs credentials.
func TestStatusAndQuery(t *testing.T) {
	key, verifier := newKey(t)
	tok := token(t, key, jwt.MapClaims{"sub": "x"})
	s := startServer(t, func(o *influx.Options) { o.Verifier = verifier })
	if r := s.do(t, request{path: "/write?db=x&precision=s&p=" + tok, body: "m,cluster=woody,hostname=a value=1 1719859200"}); r.status != 204 {
		t.Fatalf("write: %d %s", r.status, r.body)
	}
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	basic := func(h map[string]string) map[string]string {
		out := map[string]string{"Authorization": "Token u:" + tok}
		for k, v := range h {
			out[k] = v
		}
		return out
	}
	for _, tc := range []struct {
		item   int
		req    request
		status int
		body   string // exact, "" for none
		check  func(t *testing.T, r response)
	}{
		{42, request{method: "GET", path: "/ping"}, 204, "", nil},
		{42, request{method: "HEAD", path: "/ping"}, 204, "", nil},
		{42, request{method: "GET", path: "/influx/ping"}, 204, "", nil},
		{42, request{method: "GET", path: "/ping?verbose=true"}, 200, `{"version":"1.8.10"}` + "\n", nil},
		{42, request{method: "GET", path: "/ping?verbose=false"}, 204, "", nil},
		{42, request{method: "HEAD", path: "/ping?verbose=true"}, 200, "", nil},
		{42, request{method: "GET", path: "/health"}, 200, "", func(t *testing.T, r response) {
			var h map[string]any
			if err := json.Unmarshal([]byte(r.body), &h); err != nil || h["status"] != "pass" || h["name"] != "influxdb" {
				t.Errorf("health %s: %v", r.body, err)
			}
		}},
		{42, request{method: "HEAD", path: "/influx/health"}, 200, "", nil},
		{42, request{method: "GET", path: "/ready"}, 200, "", func(t *testing.T, r response) {
			var h struct{ Status, Started, Up string }
			if err := json.Unmarshal([]byte(r.body), &h); err != nil || h.Status != "ready" {
				t.Errorf("ready %s: %v", r.body, err)
			}
			if _, err := time.Parse(time.RFC3339Nano, h.Started); err != nil {
				t.Errorf("ready started: %v", err)
			}
		}},
		// Telegraf's start-up call, exactly as outputs.influxdb sends it.
		{43, request{path: "/query", body: "q=CREATE+DATABASE+%22telegraf%22", header: basic(form)}, 200,
			`{"results":[{"statement_id":0}]}` + "\n", nil},
		{43, request{path: "/influx/query", body: "q=" + url.QueryEscape(`CREATE DATABASE "a;b"; show databases`), header: basic(form)}, 200,
			`{"results":[{"statement_id":0},{"statement_id":1,"series":[{"name":"databases","columns":["name"],"values":[["woody"]]}]}]}` + "\n", nil},
		{43, request{method: "GET", path: "/query?q=SHOW+RETENTION+POLICIES+ON+telegraf", header: basic(nil)}, 200,
			`{"results":[{"statement_id":0,"series":[{"columns":["name","duration","shardGroupDuration","replicaN","default"],"values":[["autogen","0s","168h0m0s",1,true]]}]}]}` + "\n", nil},
		{43, request{method: "GET", path: "/query?db=telegraf&q=SHOW+MEASUREMENTS", header: basic(nil)}, 200,
			`{"results":[{"statement_id":0}]}` + "\n", nil},
		{43, request{method: "GET", path: "/query?q=SELECT+*+FROM+cpu", header: basic(nil)}, 200, "", func(t *testing.T, r response) {
			if !strings.HasPrefix(r.body, `{"results":[{"statement_id":0,"error":"not supported: `) {
				t.Errorf("SELECT: %s", r.body)
			}
		}},
		{43, request{method: "GET", path: "/query", header: basic(nil)}, 400, `{"error":"missing required parameter \"q\""}` + "\n", nil},
		{43, request{path: "/query", body: "q=", header: basic(form)}, 400, `{"error":"missing required parameter \"q\""}` + "\n", nil},
		{43, request{method: "GET", path: "/query?q=SHOW+DATABASES"}, 401, `{"error":"unable to parse authentication credentials"}` + "\n", nil},
		{43, request{method: "OPTIONS", path: "/query"}, 204, "", nil},
		{43, request{method: "OPTIONS", path: "/write"}, 204, "", nil},
	} {
		r := s.do(t, tc.req)
		name := tc.req.method + " " + tc.req.path
		if r.status != tc.status || (tc.body != "" && r.body != tc.body) {
			t.Errorf("item %d %s: %d %q, want %d %q", tc.item, name, r.status, r.body, tc.status, tc.body)
		}
		if tc.status == 204 && r.body != "" {
			t.Errorf("item %d %s: 204 with body %q", tc.item, name, r.body)
		}
		if r.header.Get("X-Influxdb-Version") != influx.Version || r.header.Get("X-Influxdb-Build") != "OSS" {
			t.Errorf("item %d %s: headers %v", tc.item, name, r.header)
		}
		if tc.check != nil {
			tc.check(t, r)
		}
	}
}

// TestAuthV1 covers item 44: every Influx credential form with the JWT as
// the secret; wrong or missing credentials get 401 with InfluxDB 1.x's
// body and WWW-Authenticate.
func TestAuthV1(t *testing.T) {
	key, verifier := newKey(t)
	good := token(t, key, jwt.MapClaims{"sub": "writer"})
	expired := token(t, key, jwt.MapClaims{"sub": "writer", "exp": time.Now().Add(-time.Hour).Unix()})
	otherKey, _ := newKey(t)
	forged := token(t, otherKey, jwt.MapClaims{"sub": "writer"})
	s := startServer(t, func(o *influx.Options) { o.Verifier = verifier })
	const path = "/write?db=x&precision=s"
	for _, tc := range []struct {
		name   string
		query  string
		header map[string]string
		basic  [2]string
		status int
		body   string
	}{
		{name: "u and p", query: "&u=writer&p=" + good, status: 204},
		{name: "p only", query: "&p=" + good, status: 204},
		{name: "Basic", basic: [2]string{"writer", good}, status: 204},
		{name: "Token user:pass", header: map[string]string{"Authorization": "Token writer:" + good}, status: 204},
		{name: "Token", header: map[string]string{"Authorization": "Token " + good}, status: 204},
		{name: "Bearer", header: map[string]string{"Authorization": "Bearer " + good}, status: 204},
		{name: "wrong p", query: "&u=writer&p=secret", status: 401, body: `{"error":"authorization failed"}` + "\n"},
		{name: "forged Basic", basic: [2]string{"writer", forged}, status: 401, body: `{"error":"authorization failed"}` + "\n"},
		{name: "expired Token", header: map[string]string{"Authorization": "Token " + expired}, status: 401, body: `{"error":"authorization failed"}` + "\n"},
		{name: "unknown scheme", header: map[string]string{"Authorization": "Digest x"}, status: 401,
			body: `{"error":"unable to parse authentication credentials"}` + "\n"},
		{name: "none", status: 401, body: `{"error":"unable to parse authentication credentials"}` + "\n"},
	} {
		r := request{path: path + tc.query, body: "m,hostname=a value=1 1719859200", header: tc.header}
		req := newRequest(t, s, r)
		if tc.basic[0] != "" {
			req.SetBasicAuth(tc.basic[0], tc.basic[1])
		}
		got := s.send(t, req)
		if got.status != tc.status || (tc.body != "" && got.body != tc.body) {
			t.Errorf("%s: %d %q", tc.name, got.status, got.body)
		}
		if tc.status == 401 {
			if h := got.header.Get("WWW-Authenticate"); h != `Basic realm="InfluxDB"` {
				t.Errorf("%s: WWW-Authenticate %q", tc.name, h)
			}
		}
	}
	// Also on v2 and /query; /ping and /health stay open.
	for _, p := range []string{"/api/v2/write?bucket=b", "/query?q=SHOW+DATABASES"} {
		req := newRequest(t, s, request{path: p, body: "m,hostname=a value=1"})
		req.SetBasicAuth("writer", good)
		if got := s.send(t, req); got.status/100 != 2 {
			t.Errorf("%s with Basic: %d %s", p, got.status, got.body)
		}
	}
	for _, p := range []string{"/ping", "/health", "/ready", "/influx/ping"} {
		if got := s.do(t, request{method: "GET", path: p}); got.status/100 != 2 {
			t.Errorf("%s without credentials: %d", p, got.status)
		}
	}
}
