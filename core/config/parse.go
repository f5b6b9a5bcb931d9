package config

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Section names, as they appear at the top level of the file.
const (
	secMain        = "main"
	secMetrics     = "metrics"
	secMetricStore = "metric-store"
	secNATS        = "nats"
	secBridge      = "bridge"
)

// knownSections lists every accepted top-level member (without -file).
var knownSections = []string{secMain, secMetrics, secMetricStore, secNATS, secBridge}

// fileSuffix marks a member that reads its section from another file.
const fileSuffix = "-file"

// Parse decodes a config file's content. baseDir resolves relative
// "<section>-file" paths; "" means the working directory.
func Parse(data []byte, baseDir string) (*Config, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // tolerate a UTF-8 BOM
	top, err := decodeTop(data)
	if err != nil {
		return nil, err
	}
	if err := checkPre15(top); err != nil {
		return nil, err
	}
	sections, err := resolveSections(top, baseDir)
	if err != nil {
		return nil, err
	}

	c := &Config{}
	if err := parseMain(sections[secMain], &c.Main); err != nil {
		return nil, err
	}
	if err := parseBridge(sections[secBridge], &c.Bridge); err != nil {
		return nil, err
	}
	metricsRaw := sections[secMetrics]
	if metricsRaw == nil && c.Bridge.StrictMetrics {
		return nil, errors.New("config: metrics: section required when bridge.strict-metrics is true")
	}
	if c.Metrics, err = parseMetrics(metricsRaw, &c.Warnings); err != nil {
		return nil, err
	}
	if err := parseMetricStore(sections[secMetricStore], &c.MetricStore); err != nil {
		return nil, err
	}
	if c.NATS, err = parseNATS(sections[secNATS]); err != nil {
		return nil, err
	}
	return c, nil
}

// decodeTop splits the file into its top-level members.
func decodeTop(data []byte) (map[string]json.RawMessage, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, errors.New("config: the file must hold one JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	var top map[string]json.RawMessage
	if err := dec.Decode(&top); err != nil {
		return nil, jsonError("", err)
	}
	if _, err := dec.Token(); err == nil {
		return nil, errors.New("config: unexpected data after the top-level JSON object")
	}
	return top, nil
}

// pre15Moves says where each key of the flat pre-1.5 format went.
var pre15Moves = []struct{ key, move string }{
	{"http-api", "http-api.address → main.addr, http-api.https-cert-file/https-key-file → main.https-cert-file/https-key-file"},
	{"jwt-public-key", "jwt-public-key → main.jwt-public-key"},
	{"retention-in-memory", "retention-in-memory → metric-store.retention-in-memory (metric-store.memory-cap is now required too)"},
	{"checkpoints", "checkpoints.interval → metric-store.checkpoint-interval, checkpoints.directory/file-format → metric-store.checkpoints.directory/file-format, checkpoints.restore is gone (restore covers retention-in-memory)"},
	{"archive", "archive{interval,directory,delete-instead} → metric-store.cleanup{mode: \"archive\"|\"delete\", directory}"},
	{"nats", "nats[] → one nats{address,username,password,creds-file-path} object plus metric-store.nats-subscriptions[]{subscribe-to,cluster-tag}"},
	{"debug", "debug → main.debug"},
}

// pre15Markers are top-level keys that only the pre-1.5 format has.
var pre15Markers = []string{"http-api", "retention-in-memory", "jwt-public-key", "checkpoints", "archive"}

// checkPre15 rejects the flat format cc-metric-store used before 1.5 with a
// list of where its keys moved.
func checkPre15(top map[string]json.RawMessage) error {
	legacy := bytes.HasPrefix(bytes.TrimSpace(top[secNATS]), []byte("["))
	for _, k := range pre15Markers {
		if _, ok := top[k]; ok {
			legacy = true
		}
	}
	if !legacy {
		return nil
	}
	var moves []string
	for _, m := range pre15Moves {
		if _, ok := top[m.key]; ok {
			moves = append(moves, m.move)
		}
	}
	return fmt.Errorf("config: the pre-1.5 flat config format is not supported; move %s", strings.Join(moves, "; "))
}

// resolveSections checks the top-level members and replaces every
// "<section>-file" member by the named file's content.
func resolveSections(top map[string]json.RawMessage, baseDir string) (map[string]json.RawMessage, error) {
	keys := make([]string, 0, len(top))
	for k := range top {
		keys = append(keys, k)
	}
	slices.Sort(keys) // report problems in a stable order

	sections := make(map[string]json.RawMessage, len(top))
	for _, k := range keys {
		v := top[k]
		if slices.Contains(knownSections, k) {
			if isNull(v) {
				continue // "metrics": null is the same as no metrics section
			}
			sections[k] = v
			continue
		}
		name, isFile := strings.CutSuffix(k, fileSuffix)
		if !isFile {
			return nil, fmt.Errorf("config: unknown top-level section %q (known: %s)", k, strings.Join(knownSections, ", "))
		}
		if !slices.Contains(knownSections, name) {
			return nil, fmt.Errorf("config: unknown top-level section %q (known: %s)", k, strings.Join(knownSections, ", "))
		}
		if strings.Contains(name, "-") {
			// cc-lib's loader splits the key at '-', so it never resolved
			// "metric-store-file"; refuse it instead of ignoring it.
			return nil, fmt.Errorf("config: %s: \"-file\" only works for single-word section names; put %q inline", k, name)
		}
		if _, dup := top[name]; dup {
			return nil, fmt.Errorf("config: both %q and %q are given; keep one", name, k)
		}
		var path string
		if err := json.Unmarshal(v, &path); err != nil || path == "" {
			return nil, fmt.Errorf("config: %s: expected a non-empty file path string", k)
		}
		if !filepath.IsAbs(path) && baseDir != "" {
			path = filepath.Join(baseDir, path)
		}
		data, err := readFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: %s: cannot read section file: %w", k, err)
		}
		data = bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))
		if !json.Valid(data) {
			return nil, fmt.Errorf("config: %s: %s does not hold one JSON value", k, path)
		}
		if !isNull(data) {
			sections[name] = data
		}
	}
	if sections[secMain] == nil {
		return nil, errors.New("config: main: section required (main configuration must be present)")
	}
	return sections, nil
}

// MaxFileBytes bounds the config file and every section file, so that a
// path like /dev/zero fails instead of exhausting memory.
const MaxFileBytes = 64 << 20

// readFile reads at most MaxFileBytes of path.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, MaxFileBytes)
	}
	return data, nil
}

func isNull(raw json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

type rawDebug struct {
	DumpToFile string `json:"dump-to-file"`
	Gops       bool   `json:"gops"`
}

type rawMain struct {
	Addr          string          `json:"addr"`
	HTTPSCertFile string          `json:"https-cert-file"`
	HTTPSKeyFile  string          `json:"https-key-file"`
	User          string          `json:"user"`
	Group         string          `json:"group"`
	BackendURL    string          `json:"backend-url"`
	JWTPublicKey  string          `json:"jwt-public-key"`
	Debug         json.RawMessage `json:"debug"`
}

func parseMain(raw json.RawMessage, m *Main) error {
	var r rawMain
	if err := decodeStrict(secMain, raw, &r); err != nil {
		return err
	}
	*m = Main{
		Addr:          r.Addr,
		HTTPSCertFile: r.HTTPSCertFile,
		HTTPSKeyFile:  r.HTTPSKeyFile,
		User:          r.User,
		Group:         r.Group,
		BackendURL:    r.BackendURL,
	}
	if r.Debug != nil {
		var dbg rawDebug
		if err := decodeStrict(secMain+".debug", r.Debug, &dbg); err != nil {
			return err
		}
		m.Debug = Debug(dbg)
	}
	if (r.HTTPSCertFile == "") != (r.HTTPSKeyFile == "") {
		return errors.New("config: main: https-cert-file and https-key-file must be set together")
	}
	if r.JWTPublicKey != "" {
		key, err := base64.StdEncoding.DecodeString(r.JWTPublicKey)
		if err != nil {
			return fmt.Errorf("config: main.jwt-public-key: invalid standard base64: %w", err)
		}
		if len(key) != 32 {
			return fmt.Errorf("config: main.jwt-public-key: decodes to %d bytes, an Ed25519 public key has 32", len(key))
		}
		m.JWTPublicKey = key
	}
	return nil
}

type rawMetric struct {
	Frequency *int64 `json:"frequency"`
	// Aggregation stays raw to tell null (no aggregation) from absent.
	Aggregation json.RawMessage `json:"aggregation"`
}

func parseMetrics(raw json.RawMessage, warnings *[]string) (map[string]Metric, error) {
	metrics := make(map[string]Metric)
	if raw == nil {
		return metrics, nil
	}
	var entries map[string]json.RawMessage
	if err := decodeStrict(secMetrics, raw, &entries); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(entries))
	for name := range entries {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		path := secMetrics + "." + name
		if name == "" {
			return nil, errors.New("config: metrics: empty metric name")
		}
		var r rawMetric
		if err := decodeStrict(path, entries[name], &r); err != nil {
			return nil, err
		}
		if r.Frequency == nil {
			return nil, fmt.Errorf("config: %s.frequency: required", path)
		}
		if *r.Frequency <= 0 {
			return nil, fmt.Errorf("config: %s.frequency: invalid frequency %d: must be > 0 seconds", path, *r.Frequency)
		}
		if r.Aggregation == nil {
			return nil, fmt.Errorf("config: %s.aggregation: required (\"sum\", \"avg\" or null)", path)
		}
		m := Metric{Frequency: *r.Frequency}
		if !isNull(r.Aggregation) {
			var s string
			if err := json.Unmarshal(r.Aggregation, &s); err != nil {
				return nil, fmt.Errorf("config: %s.aggregation: expected \"sum\", \"avg\" or null, got %s", path, r.Aggregation)
			}
			agg, ok := ParseAggregation(s)
			if !ok {
				*warnings = append(*warnings, fmt.Sprintf("config: %s.aggregation: unknown aggregation %q, using none", path, s))
			}
			m.Aggregation = agg
		}
		metrics[name] = m
	}
	return metrics, nil
}

type rawMetricStore struct {
	RetentionInMemory  *string           `json:"retention-in-memory"`
	MemoryCap          *int64            `json:"memory-cap"`
	CheckpointInterval *string           `json:"checkpoint-interval"`
	NumWorkers         int               `json:"num-workers"`
	Checkpoints        json.RawMessage   `json:"checkpoints"`
	Cleanup            json.RawMessage   `json:"cleanup"`
	NATSSubscriptions  []json.RawMessage `json:"nats-subscriptions"`
	Debug              json.RawMessage   `json:"debug"`
}

type rawCheckpoints struct {
	FileFormat string `json:"file-format"`
	Directory  string `json:"directory"`
	MaxWALSize int64  `json:"max-wal-size"`
}

type rawCleanup struct {
	Mode      string `json:"mode"`
	Directory string `json:"directory"`
}

type rawSubscription struct {
	SubscribeTo *string `json:"subscribe-to"`
	ClusterTag  string  `json:"cluster-tag"`
}

// defaultMetricStore is what an absent metric-store section means; it
// matches the embedded default config.
func defaultMetricStore() MetricStore {
	return MetricStore{
		RetentionInMemory:  48 * time.Hour,
		CheckpointInterval: DefaultCheckpointInterval,
		NumWorkers:         defaultNumWorkers(),
		Checkpoints:        Checkpoints{FileFormat: FileFormatWAL, Directory: DefaultCheckpointDir},
		Cleanup:            Cleanup{Mode: CleanupDelete},
	}
}

func defaultNumWorkers() int {
	return min(runtime.NumCPU()/2+1, MaxDefaultNumWorkers)
}

func parseMetricStore(raw json.RawMessage, ms *MetricStore) error {
	*ms = defaultMetricStore()
	if raw == nil {
		return nil
	}
	const sec = secMetricStore
	var r rawMetricStore
	if err := decodeStrict(sec, raw, &r); err != nil {
		return err
	}

	if r.RetentionInMemory == nil {
		return fmt.Errorf("config: %s.retention-in-memory: required", sec)
	}
	d, err := parsePositiveDuration(sec+".retention-in-memory", *r.RetentionInMemory)
	if err != nil {
		return err
	}
	ms.RetentionInMemory = d

	if r.MemoryCap == nil {
		return fmt.Errorf("config: %s.memory-cap: required (GB, 0 = no cap)", sec)
	}
	if *r.MemoryCap < 0 {
		return fmt.Errorf("config: %s.memory-cap: invalid value %d: must be >= 0", sec, *r.MemoryCap)
	}
	ms.MemoryCap = *r.MemoryCap

	if r.CheckpointInterval != nil {
		if ms.CheckpointInterval, err = parsePositiveDuration(sec+".checkpoint-interval", *r.CheckpointInterval); err != nil {
			return err
		}
	}
	if r.NumWorkers > 0 {
		ms.NumWorkers = r.NumWorkers
	}

	if r.Checkpoints != nil {
		var cp rawCheckpoints
		if err := decodeStrict(sec+".checkpoints", r.Checkpoints, &cp); err != nil {
			return err
		}
		switch cp.FileFormat {
		case "":
		case FileFormatWAL, FileFormatJSON:
			ms.Checkpoints.FileFormat = cp.FileFormat
		default:
			return fmt.Errorf("config: %s.checkpoints.file-format: unsupported format %q (want %q or %q)", sec, cp.FileFormat, FileFormatWAL, FileFormatJSON)
		}
		if cp.Directory != "" {
			ms.Checkpoints.Directory = cp.Directory
		}
		if cp.MaxWALSize < 0 {
			return fmt.Errorf("config: %s.checkpoints.max-wal-size: invalid value %d: must be >= 0 bytes", sec, cp.MaxWALSize)
		}
		ms.Checkpoints.MaxWALSize = cp.MaxWALSize
	}

	if r.Cleanup != nil {
		var cl rawCleanup
		if err := decodeStrict(sec+".cleanup", r.Cleanup, &cl); err != nil {
			return err
		}
		switch cl.Mode {
		case "", CleanupDelete:
		case CleanupArchive:
			if cl.Directory == "" {
				return fmt.Errorf("config: %s.cleanup.directory: required when mode is %q", sec, CleanupArchive)
			}
			ms.Cleanup.Mode = CleanupArchive
		default:
			return fmt.Errorf("config: %s.cleanup.mode: unsupported mode %q (want %q or %q)", sec, cl.Mode, CleanupArchive, CleanupDelete)
		}
		ms.Cleanup.Directory = cl.Directory
	}

	for i, sraw := range r.NATSSubscriptions {
		path := fmt.Sprintf("%s.nats-subscriptions[%d]", sec, i)
		var s rawSubscription
		if err := decodeStrict(path, sraw, &s); err != nil {
			return err
		}
		if s.SubscribeTo == nil || *s.SubscribeTo == "" {
			return fmt.Errorf("config: %s.subscribe-to: required", path)
		}
		ms.NATSSubscriptions = append(ms.NATSSubscriptions, NATSSubscription{SubscribeTo: *s.SubscribeTo, ClusterTag: s.ClusterTag})
	}

	if r.Debug != nil {
		var dbg rawDebug
		if err := decodeStrict(sec+".debug", r.Debug, &dbg); err != nil {
			return err
		}
		ms.Debug = Debug(dbg)
	}
	return nil
}

func parsePositiveDuration(path, s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("config: %s: invalid duration %q", path, s)
	}
	if d <= 0 {
		return 0, fmt.Errorf("config: %s: invalid duration %q: must be > 0", path, s)
	}
	return d, nil
}

type rawNATS struct {
	Address       *string `json:"address"`
	Username      string  `json:"username"`
	Password      string  `json:"password"`
	CredsFilePath string  `json:"creds-file-path"`
}

func parseNATS(raw json.RawMessage) (*NATS, error) {
	if raw == nil {
		return nil, nil
	}
	var r rawNATS
	if err := decodeStrict(secNATS, raw, &r); err != nil {
		return nil, err
	}
	if r.Address == nil || *r.Address == "" {
		return nil, errors.New("config: nats.address: required")
	}
	return &NATS{Address: *r.Address, Username: r.Username, Password: r.Password, CredsFilePath: r.CredsFilePath}, nil
}

type rawBridge struct {
	DefaultFrequency    *int64  `json:"default-frequency"`
	StrictMetrics       bool    `json:"strict-metrics"`
	DefaultCluster      string  `json:"default-cluster"`
	MaxRequestBytes     *int64  `json:"max-request-bytes"`
	MaxPointsPerSeries  *int64  `json:"max-points-per-series"`
	MaxPointsPerRequest *int64  `json:"max-points-per-request"`
	DataDir             *string `json:"data-dir"`
	WALFsync            *string `json:"wal-fsync"`
	InfluxClusterFromDB bool    `json:"influx-cluster-from-db"`
	NATSSubscriptions   []struct {
		SubscribeTo string `json:"subscribe-to"`
		QueueGroup  string `json:"queue-group"`
		JetStream   *struct {
			Stream        string `json:"stream"`
			Durable       string `json:"durable"`
			AckWait       string `json:"ack-wait"`
			MaxAckPending int    `json:"max-ack-pending"`
		} `json:"jetstream"`
	} `json:"nats-subscriptions"`
}

func parseBridge(raw json.RawMessage, b *Bridge) error {
	*b = Bridge{
		DefaultFrequency:    DefaultFrequency,
		MaxRequestBytes:     DefaultMaxRequestBytes,
		MaxPointsPerSeries:  DefaultMaxPointsPerSeries,
		MaxPointsPerRequest: DefaultMaxPointsPerRequest,
		DataDir:             DefaultDataDir,
		WALFsync:            DefaultWALFsync,
	}
	if raw == nil {
		return nil
	}
	var r rawBridge
	if err := decodeStrict(secBridge, raw, &r); err != nil {
		return err
	}
	b.StrictMetrics = r.StrictMetrics
	b.InfluxClusterFromDB = r.InfluxClusterFromDB
	b.DefaultCluster = r.DefaultCluster
	for _, f := range []struct {
		key string
		src *int64
		dst *int64
	}{
		{"default-frequency", r.DefaultFrequency, &b.DefaultFrequency},
		{"max-request-bytes", r.MaxRequestBytes, &b.MaxRequestBytes},
		{"max-points-per-series", r.MaxPointsPerSeries, &b.MaxPointsPerSeries},
		{"max-points-per-request", r.MaxPointsPerRequest, &b.MaxPointsPerRequest},
	} {
		if f.src == nil {
			continue
		}
		if *f.src <= 0 {
			return fmt.Errorf("config: %s.%s: invalid value %d: must be > 0", secBridge, f.key, *f.src)
		}
		*f.dst = *f.src
	}
	if r.DataDir != nil {
		if *r.DataDir == "" {
			return fmt.Errorf("config: %s.data-dir: must not be empty (default %q)", secBridge, DefaultDataDir)
		}
		b.DataDir = *r.DataDir
	}
	for i, s := range r.NATSSubscriptions {
		path := fmt.Sprintf("config: %s.nats-subscriptions[%d]", secBridge, i)
		if s.SubscribeTo == "" {
			return fmt.Errorf("%s.subscribe-to: required", path)
		}
		e := BridgeNATSSubscription{SubscribeTo: s.SubscribeTo, QueueGroup: s.QueueGroup}
		if js := s.JetStream; js != nil {
			if js.Stream == "" || js.Durable == "" {
				return fmt.Errorf("%s.jetstream: stream and durable are required", path)
			}
			e.JetStream = &BridgeJetStream{Stream: js.Stream, Durable: js.Durable, MaxAckPending: js.MaxAckPending}
			if js.AckWait != "" {
				d, err := time.ParseDuration(js.AckWait)
				if err != nil || d < 0 {
					return fmt.Errorf("%s.jetstream.ack-wait: invalid duration %q", path, js.AckWait)
				}
				e.JetStream.AckWait = d
			}
			if js.MaxAckPending < 0 {
				return fmt.Errorf("%s.jetstream.max-ack-pending: must not be negative", path)
			}
		}
		b.NATSSubscriptions = append(b.NATSSubscriptions, e)
	}
	if r.WALFsync != nil {
		if *r.WALFsync == "always" {
			b.WALFsync = 0
		} else {
			d, err := time.ParseDuration(*r.WALFsync)
			if err != nil || d <= 0 {
				return fmt.Errorf("config: %s.wal-fsync: invalid value %q: want \"always\" or a positive duration such as \"1s\"", secBridge, *r.WALFsync)
			}
			b.WALFsync = d
		}
	}
	return nil
}

// decodeStrict decodes one JSON value into dst, rejecting keys dst does not
// know. Like cc-metric-store (encoding/json), key names match
// case-insensitively. path names the value in errors.
func decodeStrict(path string, raw json.RawMessage, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(path, err)
	}
	return nil
}

// jsonError turns an encoding/json error into one that names the key.
func jsonError(path string, err error) error {
	at := func(field string) string {
		switch {
		case path == "":
			return field
		case field == "":
			return path
		}
		return path + "." + field
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		where := at(typeErr.Field)
		if where == "" {
			where = "top level"
		}
		return fmt.Errorf("config: %s: expected %s, got JSON %s", where, jsonKind(typeErr.Type.String()), typeErr.Value)
	}
	where := path
	if where == "" {
		where = "file"
	}
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return fmt.Errorf("config: %s: invalid JSON at byte %d: %w", where, syntaxErr.Offset, err)
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return fmt.Errorf("config: %s: unknown key %s", path, name)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("config: %s: truncated JSON", where)
	}
	return fmt.Errorf("config: %s: %w", where, err)
}

// jsonKind names a Go destination type in JSON terms.
func jsonKind(goType string) string {
	goType = strings.TrimPrefix(goType, "*")
	switch {
	case goType == "string":
		return "a string"
	case goType == "bool":
		return "true or false"
	case strings.HasPrefix(goType, "int"):
		return "an integer"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	}
	return "an object"
}
