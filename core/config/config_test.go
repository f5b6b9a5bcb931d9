package config

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// minimal is the smallest valid cc-metric-store 1.5 config.
const minimal = `{"main": {}, "metric-store": {"retention-in-memory": "1h", "memory-cap": 0}, "metrics": {}}`

const sampleKey = "kzfYrYy+TzpanWZHJ5qSdMj5uKUWgq74BWhQG6copP0="

func mustParse(t *testing.T, data string) *Config {
	t.Helper()
	c, err := Parse([]byte(data), "")
	if err != nil {
		t.Fatalf("Parse(%s): unexpected error: %v", data, err)
	}
	return c
}

func TestDefault(t *testing.T) {
	c := Default()
	if c.Main.Addr != "127.0.0.1:8080" {
		t.Errorf("addr = %q", c.Main.Addr)
	}
	if c.Main.JWTPublicKey != nil {
		t.Errorf("default config must not enable auth")
	}
	ms := c.MetricStore
	if ms.RetentionInMemory != 48*time.Hour || ms.MemoryCap != 0 || ms.CheckpointInterval != 12*time.Hour {
		t.Errorf("metric-store = %+v", ms)
	}
	if ms.Checkpoints != (Checkpoints{FileFormat: FileFormatWAL, Directory: "./var/checkpoints"}) {
		t.Errorf("checkpoints = %+v", ms.Checkpoints)
	}
	if ms.Cleanup.Mode != CleanupDelete || ms.NumWorkers < 1 || ms.NumWorkers > MaxDefaultNumWorkers {
		t.Errorf("cleanup/num-workers = %+v / %d", ms.Cleanup, ms.NumWorkers)
	}
	wantMetrics := map[string]Metric{
		"cpu_load":  {60, AggNone},
		"cpu_user":  {60, AggAvg},
		"flops_any": {60, AggSum},
		"mem_bw":    {60, AggSum},
		"mem_used":  {60, AggNone},
		"net_bw":    {60, AggSum},
		"file_bw":   {60, AggSum},
	}
	if !reflect.DeepEqual(c.Metrics, wantMetrics) {
		t.Errorf("metrics = %v", c.Metrics)
	}
	if c.NATS != nil || len(c.Warnings) != 0 {
		t.Errorf("nats = %v, warnings = %v", c.NATS, c.Warnings)
	}
	if !reflect.DeepEqual(c.Bridge, defaultBridge()) {
		t.Errorf("bridge = %+v, want %+v", c.Bridge, defaultBridge())
	}

	// Each call is a fresh copy.
	c.Metrics["x"] = Metric{}
	if _, ok := Default().Metrics["x"]; ok {
		t.Errorf("Default shares its metrics map")
	}

	viaLoad, err := Load("")
	if err != nil || !reflect.DeepEqual(viaLoad, Default()) {
		t.Errorf("Load(\"\") = %+v, %v", viaLoad, err)
	}
	if !bytes.Equal(DefaultJSON(), defaultJSON) {
		t.Errorf("DefaultJSON differs from the embedded file")
	}
}

func defaultBridge() Bridge {
	return Bridge{
		DefaultFrequency:    60,
		MaxRequestBytes:     256 << 20,
		MaxPointsPerSeries:  1_000_000,
		MaxPointsPerRequest: 50_000_000,
		DataDir:             "./var",
		WALFsync:            time.Second,
	}
}

func TestReferenceSample(t *testing.T) {
	c, err := Load(filepath.Join("testdata", "ccms-config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Path != filepath.Join("testdata", "ccms-config.json") {
		t.Errorf("path = %q", c.Path)
	}
	if c.Main.Addr != "0.0.0.0:8082" {
		t.Errorf("addr = %q", c.Main.Addr)
	}
	wantKey, _ := base64.StdEncoding.DecodeString(sampleKey)
	if !bytes.Equal(c.Main.JWTPublicKey, wantKey) || len(c.Main.JWTPublicKey) != ed25519.PublicKeySize {
		t.Errorf("jwt key = %x", c.Main.JWTPublicKey)
	}
	if *c.NATS != (NATS{Address: "nats://0.0.0.0:4222", Username: "root", Password: "root"}) {
		t.Errorf("nats = %+v", c.NATS)
	}
	ms := c.MetricStore
	if ms.RetentionInMemory != 48*time.Hour || ms.MemoryCap != 100 || ms.CheckpointInterval != 12*time.Hour {
		t.Errorf("metric-store = %+v", ms)
	}
	if ms.Cleanup != (Cleanup{Mode: CleanupArchive, Directory: "./var/archive"}) {
		t.Errorf("cleanup = %+v", ms.Cleanup)
	}
	wantSubs := []NATSSubscription{{"hpc-nats", "fritz"}, {"hpc-nats", "alex"}}
	if !reflect.DeepEqual(ms.NATSSubscriptions, wantSubs) {
		t.Errorf("subscriptions = %+v", ms.NATSSubscriptions)
	}
	if len(c.Metrics) != 9 || c.Metrics["nfs4_read"] != (Metric{30, AggNone}) ||
		c.Metrics["acc_power"] != (Metric{60, AggSum}) || c.Metrics["clock"] != (Metric{60, AggAvg}) {
		t.Errorf("metrics = %v", c.Metrics)
	}
	if !reflect.DeepEqual(c.Bridge, defaultBridge()) {
		t.Errorf("bridge = %+v", c.Bridge)
	}
}

func TestDefaults(t *testing.T) {
	c := mustParse(t, `{"main": {}}`)
	if !reflect.DeepEqual(c.Main, Main{}) || len(c.Metrics) != 0 || c.Metrics == nil || c.NATS != nil {
		t.Errorf("main = %+v, metrics = %v, nats = %v", c.Main, c.Metrics, c.NATS)
	}
	if !reflect.DeepEqual(c.MetricStore, defaultMetricStore()) {
		t.Errorf("absent metric-store = %+v", c.MetricStore)
	}
	if !reflect.DeepEqual(c.Bridge, defaultBridge()) {
		t.Errorf("absent bridge = %+v", c.Bridge)
	}

	c = mustParse(t, minimal)
	ms := c.MetricStore
	if ms.RetentionInMemory != time.Hour || ms.CheckpointInterval != DefaultCheckpointInterval ||
		ms.Checkpoints != (Checkpoints{FileFormat: FileFormatWAL, Directory: DefaultCheckpointDir}) ||
		ms.Cleanup != (Cleanup{Mode: CleanupDelete}) || ms.NumWorkers != defaultNumWorkers() || ms.NATSSubscriptions != nil {
		t.Errorf("metric-store defaults = %+v", ms)
	}

	// Empty strings mean the default, as in cc-metric-store.
	c = mustParse(t, `{"main": {}, "metric-store": {"retention-in-memory": "1h", "memory-cap": 1, "num-workers": -3,
		"checkpoints": {"file-format": "", "directory": ""}, "cleanup": {"mode": ""}}}`)
	ms = c.MetricStore
	if ms.Checkpoints != (Checkpoints{FileFormat: FileFormatWAL, Directory: DefaultCheckpointDir}) ||
		ms.Cleanup.Mode != CleanupDelete || ms.NumWorkers != defaultNumWorkers() {
		t.Errorf("empty-value defaults = %+v", ms)
	}

	// Everything set explicitly.
	c = mustParse(t, `{
		"main": {"addr": ":9", "https-cert-file": "c.pem", "https-key-file": "k.pem", "user": "u", "group": "g",
			"backend-url": "http://b", "debug": {"dump-to-file": "d", "gops": true}},
		"metrics": {"m": {"frequency": 10, "aggregation": "sum"}},
		"metric-store": {"retention-in-memory": "90m", "memory-cap": 7, "checkpoint-interval": "30m", "num-workers": 3,
			"checkpoints": {"file-format": "json", "directory": "/cp", "max-wal-size": 1024},
			"cleanup": {"mode": "delete", "directory": "/ignored"},
			"nats-subscriptions": [{"subscribe-to": "s"}],
			"debug": {"gops": true}},
		"nats": {"address": "nats://x", "username": "u", "password": "p", "creds-file-path": "/c"},
		"bridge": {"default-frequency": 10, "strict-metrics": true, "default-cluster": "fritz", "max-request-bytes": 1,
			"max-points-per-series": 2, "max-points-per-request": 3, "data-dir": "/data", "wal-fsync": "always"}}`)
	wantMain := Main{Addr: ":9", HTTPSCertFile: "c.pem", HTTPSKeyFile: "k.pem", User: "u", Group: "g",
		BackendURL: "http://b", Debug: Debug{DumpToFile: "d", Gops: true}}
	if !reflect.DeepEqual(c.Main, wantMain) {
		t.Errorf("main = %+v", c.Main)
	}
	wantMS := MetricStore{RetentionInMemory: 90 * time.Minute, MemoryCap: 7, CheckpointInterval: 30 * time.Minute, NumWorkers: 3,
		Checkpoints:       Checkpoints{FileFormat: FileFormatJSON, Directory: "/cp", MaxWALSize: 1024},
		Cleanup:           Cleanup{Mode: CleanupDelete, Directory: "/ignored"},
		NATSSubscriptions: []NATSSubscription{{SubscribeTo: "s"}},
		Debug:             Debug{Gops: true}}
	if !reflect.DeepEqual(c.MetricStore, wantMS) {
		t.Errorf("metric-store = %+v", c.MetricStore)
	}
	if *c.NATS != (NATS{Address: "nats://x", Username: "u", Password: "p", CredsFilePath: "/c"}) {
		t.Errorf("nats = %+v", *c.NATS)
	}
	wantBridge := Bridge{DefaultFrequency: 10, StrictMetrics: true, DefaultCluster: "fritz", MaxRequestBytes: 1,
		MaxPointsPerSeries: 2, MaxPointsPerRequest: 3, DataDir: "/data", WALFsync: 0}
	if !reflect.DeepEqual(c.Bridge, wantBridge) {
		t.Errorf("bridge = %+v", c.Bridge)
	}
}

func TestAggregation(t *testing.T) {
	c := mustParse(t, `{"main": {}, "metrics": {
		"a": {"frequency": 1, "aggregation": null},
		"b": {"frequency": 1, "aggregation": "sum"},
		"c": {"frequency": 1, "aggregation": "avg"},
		"d": {"frequency": 1, "aggregation": ""},
		"e": {"frequency": 1, "aggregation": "max"},
		"f": {"frequency": 1, "aggregation": "SUM"}}}`)
	want := map[string]Aggregation{"a": AggNone, "b": AggSum, "c": AggAvg, "d": AggNone, "e": AggNone, "f": AggNone}
	for name, agg := range want {
		if got := c.Metrics[name].Aggregation; got != agg {
			t.Errorf("%s: aggregation %v, want %v", name, got, agg)
		}
	}
	wantWarnings := []string{
		`config: metrics.e.aggregation: unknown aggregation "max", using none`,
		`config: metrics.f.aggregation: unknown aggregation "SUM", using none`,
	}
	if !reflect.DeepEqual(c.Warnings, wantWarnings) {
		t.Errorf("warnings = %q", c.Warnings)
	}

	for a, s := range map[Aggregation]string{AggNone: "null", AggSum: "sum", AggAvg: "avg"} {
		if a.String() != s {
			t.Errorf("%d.String() = %q, want %q", a, a.String(), s)
		}
	}
	for s, want := range map[string]Aggregation{"": AggNone, "sum": AggSum, "avg": AggAvg} {
		if got, ok := ParseAggregation(s); !ok || got != want {
			t.Errorf("ParseAggregation(%q) = %v, %v", s, got, ok)
		}
	}
	if _, ok := ParseAggregation("min"); ok {
		t.Errorf("ParseAggregation(min) ok")
	}
}

// Keys match case-insensitively, as encoding/json (and so cc-metric-store) does.
func TestKeyCase(t *testing.T) {
	c := mustParse(t, `{"main": {"Addr": ":1"}, "metrics": {"m": {"Frequency": 5, "AGGREGATION": "avg"}}}`)
	if c.Main.Addr != ":1" || c.Metrics["m"] != (Metric{5, AggAvg}) {
		t.Errorf("main = %+v, metrics = %v", c.Main, c.Metrics)
	}
}

func TestErrors(t *testing.T) {
	f := func(data, want string) {
		t.Helper()
		c, err := Parse([]byte(data), "")
		if err == nil {
			t.Errorf("Parse(%s): no error, got %+v; want %q", data, c, want)
			return
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%s):\n got error %q\nwant it to contain %q", data, err, want)
		}
	}
	ms := func(body string) string {
		return `{"main": {}, "metric-store": {"retention-in-memory": "1h", "memory-cap": 0` + body + `}}`
	}

	// The file as a whole.
	f(``, "config: the file must hold one JSON object")
	f(`[]`, "config: the file must hold one JSON object")
	f(`null`, "config: the file must hold one JSON object")
	f(`{"main": {}`, "config: ")
	f(`{"main": {},}`, "config: file: invalid JSON")
	f(`{"main": {}} {}`, "config: unexpected data after the top-level JSON object")
	f(`{}`, "config: main: section required")
	f(`{"main": null}`, "config: main: section required")
	f(`{"metrics": {}}`, "config: main: section required")
	f(`{"main": {}, "archive2": {}}`, `config: unknown top-level section "archive2"`)
	f(`{"main": {}, "Main": {}}`, `config: unknown top-level section "Main"`)
	f(`{"main": {}, "main": 5}`, "config: main: expected an object, got JSON number")

	// Pre-1.5 flat format.
	f(`{"metrics": {}, "http-api": {"address": ":8081"}, "jwt-public-key": ""}`,
		"config: the pre-1.5 flat config format is not supported; move http-api.address → main.addr")
	f(`{"metrics": {}, "http-api": {"address": ":8081"}, "jwt-public-key": ""}`, "jwt-public-key → main.jwt-public-key")
	f(`{"retention-in-memory": "48h"}`, "retention-in-memory → metric-store.retention-in-memory")
	f(`{"main": {}, "nats": [{"address": "x"}]}`, "nats[] → one nats{")
	f(`{"checkpoints": {"interval": "1h"}, "archive": {}}`, "checkpoints.interval → metric-store.checkpoint-interval")

	// -file members that cannot work.
	f(`{"main": {}, "metric-store-file": "x.json"}`, `config: metric-store-file: "-file" only works for single-word section names`)
	f(`{"main": {}, "foo-file": "x.json"}`, `config: unknown top-level section "foo-file"`)
	f(`{"main": {}, "metrics": {}, "metrics-file": "x.json"}`, `config: both "metrics" and "metrics-file" are given`)
	f(`{"main": {}, "metrics-file": 5}`, "config: metrics-file: expected a non-empty file path string")
	f(`{"main": {}, "metrics-file": ""}`, "config: metrics-file: expected a non-empty file path string")
	f(`{"main": {}, "metrics-file": "/nonexistent/metrics.json"}`, "config: metrics-file: cannot read section file")

	// main.
	f(`{"main": {"adr": ":1"}}`, `config: main: unknown key "adr"`)
	f(`{"main": {"addr": 8080}}`, "config: main.addr: expected a string, got JSON number")
	f(`{"main": {"debug": {"gops": "yes"}}}`, "config: main.debug.gops: expected true or false, got JSON string")
	f(`{"main": {"debug": {"pprof": true}}}`, `config: main.debug: unknown key "pprof"`)
	f(`{"main": {"https-cert-file": "c.pem"}}`, "config: main: https-cert-file and https-key-file must be set together")
	f(`{"main": {"https-key-file": "k.pem"}}`, "config: main: https-cert-file and https-key-file must be set together")
	f(`{"main": {"jwt-public-key": "not base64!"}}`, "config: main.jwt-public-key: invalid standard base64")
	f(`{"main": {"jwt-public-key": "kzfYrYy-TzpanWZHJ5qSdMj5uKUWgq74BWhQG6copP0="}}`, "config: main.jwt-public-key: invalid standard base64")
	f(`{"main": {"jwt-public-key": "AAAA"}}`, "config: main.jwt-public-key: decodes to 3 bytes, an Ed25519 public key has 32")

	// metrics.
	f(`{"main": {}, "metrics": []}`, "config: metrics: expected an object, got JSON array")
	f(`{"main": {}, "metrics": {"m": 60}}`, "config: metrics.m: expected an object, got JSON number")
	f(`{"main": {}, "metrics": {"m": {"aggregation": null}}}`, "config: metrics.m.frequency: required")
	f(`{"main": {}, "metrics": {"m": {"frequency": null, "aggregation": null}}}`, "config: metrics.m.frequency: required")
	f(`{"main": {}, "metrics": {"m": {"frequency": 60}}}`, "config: metrics.m.aggregation: required")
	f(`{"main": {}, "metrics": {"m": {"frequency": 0, "aggregation": null}}}`, "config: metrics.m.frequency: invalid frequency 0: must be > 0 seconds")
	f(`{"main": {}, "metrics": {"m": {"frequency": -5, "aggregation": null}}}`, "config: metrics.m.frequency: invalid frequency -5")
	f(`{"main": {}, "metrics": {"m": {"frequency": 1.5, "aggregation": null}}}`, "config: metrics.m.frequency: expected an integer, got JSON number 1.5")
	f(`{"main": {}, "metrics": {"m": {"frequency": "60", "aggregation": null}}}`, "config: metrics.m.frequency: expected an integer, got JSON string")
	f(`{"main": {}, "metrics": {"m": {"frequency": 60, "aggregation": 1}}}`, `config: metrics.m.aggregation: expected "sum", "avg" or null, got 1`)
	f(`{"main": {}, "metrics": {"m": {"frequency": 60, "aggregation": null, "scope": "node"}}}`, `config: metrics.m: unknown key "scope"`)
	f(`{"main": {}, "metrics": {"": {"frequency": 60, "aggregation": null}}}`, "config: metrics: empty metric name")
	f(`{"main": {}, "bridge": {"strict-metrics": true}}`, "config: metrics: section required when bridge.strict-metrics is true")

	// metric-store.
	f(`{"main": {}, "metric-store": {"memory-cap": 0}}`, "config: metric-store.retention-in-memory: required")
	f(`{"main": {}, "metric-store": {"retention-in-memory": "1h"}}`, "config: metric-store.memory-cap: required")
	f(`{"main": {}, "metric-store": {"retention-in-memory": "x", "memory-cap": 0}}`, `config: metric-store.retention-in-memory: invalid duration "x"`)
	f(`{"main": {}, "metric-store": {"retention-in-memory": "48", "memory-cap": 0}}`, `config: metric-store.retention-in-memory: invalid duration "48"`)
	f(`{"main": {}, "metric-store": {"retention-in-memory": "0s", "memory-cap": 0}}`, `config: metric-store.retention-in-memory: invalid duration "0s": must be > 0`)
	f(`{"main": {}, "metric-store": {"retention-in-memory": 3600, "memory-cap": 0}}`, "config: metric-store.retention-in-memory: expected a string, got JSON number")
	f(`{"main": {}, "metric-store": {"retention-in-memory": "1h", "memory-cap": -1}}`, "config: metric-store.memory-cap: invalid value -1: must be >= 0")
	f(`{"main": {}, "metric-store": {"retention-in-memory": "1h", "memory-cap": "100"}}`, "config: metric-store.memory-cap: expected an integer, got JSON string")
	f(ms(`, "retention": "1h"`), `config: metric-store: unknown key "retention"`)
	f(ms(`, "checkpoint-interval": "soon"`), `config: metric-store.checkpoint-interval: invalid duration "soon"`)
	f(ms(`, "checkpoint-interval": "-1h"`), `config: metric-store.checkpoint-interval: invalid duration "-1h": must be > 0`)
	f(ms(`, "checkpoints": {"interval": "1h"}`), `config: metric-store.checkpoints: unknown key "interval"`)
	f(ms(`, "checkpoints": {"file-format": "avro"}`), `config: metric-store.checkpoints.file-format: unsupported format "avro" (want "wal" or "json")`)
	f(ms(`, "checkpoints": {"max-wal-size": -1}`), "config: metric-store.checkpoints.max-wal-size: invalid value -1")
	f(ms(`, "checkpoints": "./cp"`), "config: metric-store.checkpoints: expected an object, got JSON string")
	f(ms(`, "cleanup": {"mode": "archive"}`), `config: metric-store.cleanup.directory: required when mode is "archive"`)
	f(ms(`, "cleanup": {"mode": "zip", "directory": "/a"}`), `config: metric-store.cleanup.mode: unsupported mode "zip"`)
	f(ms(`, "cleanup": {"interval": "1h"}`), `config: metric-store.cleanup: unknown key "interval"`)
	f(ms(`, "nats-subscriptions": {"subscribe-to": "s"}`), "config: metric-store.nats-subscriptions: expected an array, got JSON object")
	f(ms(`, "nats-subscriptions": [{"cluster-tag": "c"}]`), "config: metric-store.nats-subscriptions[0].subscribe-to: required")
	f(ms(`, "nats-subscriptions": [{"subscribe-to": "a"}, {"subscribe-to": ""}]`), "config: metric-store.nats-subscriptions[1].subscribe-to: required")
	f(ms(`, "nats-subscriptions": [{"subscribe-to": "a", "queue": "q"}]`), `config: metric-store.nats-subscriptions[0]: unknown key "queue"`)
	f(ms(`, "debug": {"x": 1}`), `config: metric-store.debug: unknown key "x"`)
	f(ms(`, "num-workers": "4"`), "config: metric-store.num-workers: expected an integer, got JSON string")

	// nats.
	f(`{"main": {}, "nats": {}}`, "config: nats.address: required")
	f(`{"main": {}, "nats": {"address": ""}}`, "config: nats.address: required")
	f(`{"main": {}, "nats": {"address": "nats://x", "subscriptions": []}}`, `config: nats: unknown key "subscriptions"`)

	// bridge.
	f(`{"main": {}, "bridge": {"strict": true}}`, `config: bridge: unknown key "strict"`)
	f(`{"main": {}, "bridge": {"default-frequency": 0}}`, "config: bridge.default-frequency: invalid value 0: must be > 0")
	f(`{"main": {}, "bridge": {"max-request-bytes": -1}}`, "config: bridge.max-request-bytes: invalid value -1: must be > 0")
	f(`{"main": {}, "bridge": {"max-points-per-series": 0}}`, "config: bridge.max-points-per-series: invalid value 0")
	f(`{"main": {}, "bridge": {"max-points-per-request": 0}}`, "config: bridge.max-points-per-request: invalid value 0")
	f(`{"main": {}, "bridge": {"data-dir": ""}}`, "config: bridge.data-dir: must not be empty")
	f(`{"main": {}, "bridge": {"strict-metrics": "yes"}}`, "config: bridge.strict-metrics: expected true or false, got JSON string")
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFileIndirection(t *testing.T) {
	dir := t.TempDir()
	other := t.TempDir()
	writeFile(t, filepath.Join(dir, "conf", "main.json"), `{"addr": ":7", "jwt-public-key": "`+sampleKey+`"}`)
	writeFile(t, filepath.Join(dir, "conf", "sub", "metrics.json"), `{"m": {"frequency": 15, "aggregation": "avg"}}`)
	writeFile(t, filepath.Join(other, "nats.json"), "\xef\xbb\xbf"+`{"address": "nats://n:4222"}`)
	writeFile(t, filepath.Join(dir, "conf", "bridge.json"), `null`)
	cfgPath := filepath.Join(dir, "conf", "config.json")
	writeFile(t, cfgPath, `{
		"main-file": "main.json",
		"metrics-file": "sub/metrics.json",
		"nats-file": "`+filepath.ToSlash(filepath.Join(other, "nats.json"))+`",
		"bridge-file": "./bridge.json",
		"metric-store": {"retention-in-memory": "2h", "memory-cap": 1}}`)

	// Relative -file paths resolve against the config file, not the
	// working directory.
	t.Chdir(t.TempDir())
	c, err := Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if c.Main.Addr != ":7" || len(c.Main.JWTPublicKey) != 32 {
		t.Errorf("main = %+v", c.Main)
	}
	if !reflect.DeepEqual(c.Metrics, map[string]Metric{"m": {15, AggAvg}}) {
		t.Errorf("metrics = %v", c.Metrics)
	}
	if c.NATS == nil || c.NATS.Address != "nats://n:4222" {
		t.Errorf("nats = %+v", c.NATS)
	}
	if !reflect.DeepEqual(c.Bridge, defaultBridge()) || c.MetricStore.RetentionInMemory != 2*time.Hour {
		t.Errorf("bridge = %+v, metric-store = %+v", c.Bridge, c.MetricStore)
	}

	// Errors inside a section file name the section.
	writeFile(t, filepath.Join(dir, "conf", "sub", "metrics.json"), `{"m": {"frequency": 15}}`)
	if _, err := Load(cfgPath); err == nil || !strings.Contains(err.Error(), "config: metrics.m.aggregation: required") ||
		!strings.Contains(err.Error(), cfgPath) {
		t.Errorf("bad metrics file: error %v", err)
	}
	writeFile(t, filepath.Join(dir, "conf", "sub", "metrics.json"), `{"m": `)
	if _, err := Load(cfgPath); err == nil || !strings.Contains(err.Error(), "config: metrics-file: ") {
		t.Errorf("truncated metrics file: error %v", err)
	}
	writeFile(t, filepath.Join(dir, "conf", "sub", "metrics.json"), `{}`)
	writeFile(t, filepath.Join(dir, "conf", "main.json"), `{"addr": ":7", "port": 1}`)
	if _, err := Load(cfgPath); err == nil || !strings.Contains(err.Error(), `config: main: unknown key "port"`) {
		t.Errorf("bad main file: error %v", err)
	}
	if err := os.Remove(filepath.Join(dir, "conf", "main.json")); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(cfgPath); err == nil || !strings.Contains(err.Error(), "config: main-file: cannot read section file") {
		t.Errorf("missing main file: error %v", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.json"))
	if err == nil || !strings.Contains(err.Error(), "config: cannot read config file") || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %v", err)
	}
}

func TestFileTooLarge(t *testing.T) {
	dir := t.TempDir()
	big := make([]byte, MaxFileBytes+1)
	for i := range big {
		big[i] = ' '
	}
	writeFile(t, filepath.Join(dir, "nats.json"), string(big))
	writeFile(t, filepath.Join(dir, "config.json"), `{"main": {}, "nats-file": "nats.json"}`)
	if _, err := Load(filepath.Join(dir, "config.json")); err == nil || !strings.Contains(err.Error(), "is larger than") {
		t.Errorf("error %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add(defaultJSON)
	if sample, err := os.ReadFile(filepath.Join("testdata", "ccms-config.json")); err == nil {
		f.Add(sample)
	}
	f.Add([]byte(`{"main": {"jwt-public-key": "AAAA"}, "metrics": {"m": {"frequency": 0, "aggregation": "x"}}}`))
	f.Add([]byte(`{"http-api": {}, "nats": []}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		// -file members would read arbitrary paths (a key may spell "-file"
		// with \u escapes); the fuzzer only tests the decoder.
		if bytes.Contains(data, []byte("-file")) || bytes.Contains(data, []byte(`\`)) {
			t.Skip()
		}
		c, err := Parse(data, "/nonexistent")
		if err == nil && (c.Metrics == nil || c.MetricStore.RetentionInMemory <= 0 || c.Bridge.DefaultFrequency <= 0) {
			t.Fatalf("accepted config without defaults: %+v", c)
		}
	})
}

func TestInfluxClusterFromDB(t *testing.T) {
	c, err := Parse([]byte(`{"main":{"addr":"127.0.0.1:0"},"bridge":{"influx-cluster-from-db":true}}`), "")
	if err != nil {
		t.Fatal(err)
	}
	if !c.Bridge.InfluxClusterFromDB {
		t.Fatal("influx-cluster-from-db not read")
	}
}
