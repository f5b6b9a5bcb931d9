package grafana

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"
)

// datasourceUID is the uid of the provisioned datasource
// (provisioning/datasources/cc-metric-bridge.yaml); every panel, target and
// query variable refers to it.
const datasourceUID = "cc-metric-bridge"

// builtins are Grafana's global variables as the test expands them: a one
// hour dashboard range drawn at a 60 s step.
var builtins = map[string]string{
	"__interval":      "1m",
	"__interval_ms":   "60000",
	"__rate_interval": "1m",
	"__range":         "1h",
	"__range_s":       "3600",
	"__range_ms":      "3600000",
}

type dsRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type dashboardFile struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []variable `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int       `json:"id"`
	Type       string    `json:"type"`
	Title      string    `json:"title"`
	Datasource *dsRef    `json:"datasource"`
	Interval   string    `json:"interval"`
	GridPos    *struct{} `json:"gridPos"`
	Targets    []target  `json:"targets"`
	Panels     []panel   `json:"panels"` // rows
}

type target struct {
	RefID        string `json:"refId"`
	Datasource   *dsRef `json:"datasource"`
	Expr         string `json:"expr"`
	LegendFormat string `json:"legendFormat"`
	Instant      bool   `json:"instant"`
	Range        bool   `json:"range"`
	Format       string `json:"format"`
}

type variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Datasource *dsRef          `json:"datasource"`
	Query      json.RawMessage `json:"query"`
	Regex      string          `json:"regex"`
	Multi      bool            `json:"multi"`
	IncludeAll bool            `json:"includeAll"`
	AllValue   *string         `json:"allValue"`
	Current    struct {
		Value any `json:"value"`
	} `json:"current"`
}

// queryText returns a variable's query: Grafana stores it as a string or,
// for Prometheus query variables since Grafana 10, as {"query": "..."}.
func (v *variable) queryText() (string, error) {
	if len(v.Query) == 0 {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(v.Query, &s); err == nil {
		return s, nil
	}
	var obj struct {
		Query string `json:"query"`
	}
	if err := json.Unmarshal(v.Query, &obj); err != nil {
		return "", fmt.Errorf("variable %s: query is neither a string nor an object: %w", v.Name, err)
	}
	return obj.Query, nil
}

func dashboardFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("dashboards", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no dashboards under grafana/dashboards")
	}
	return files
}

func readDashboard(t *testing.T, path string) dashboardFile {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboardFile
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("%s: invalid dashboard JSON: %v", path, err)
	}
	return d
}

// allPanels flattens rows.
func allPanels(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, allPanels(p.Panels)...)
	}
	return out
}

// TestDashboardStructure checks what Grafana needs to load the files and
// bind them to the provisioned datasource.
func TestDashboardStructure(t *testing.T) {
	uids := map[string]string{}
	for _, path := range dashboardFiles(t) {
		d := readDashboard(t, path)
		if d.UID == "" || d.Title == "" {
			t.Errorf("%s: uid and title are required", path)
		}
		if prev, dup := uids[d.UID]; dup {
			t.Errorf("%s: uid %q already used by %s", path, d.UID, prev)
		}
		uids[d.UID] = path
		if d.SchemaVersion < 36 {
			t.Errorf("%s: schemaVersion %d, want >= 36 (datasource references by uid)", path, d.SchemaVersion)
		}
		vars := map[string]bool{}
		for _, v := range d.Templating.List {
			vars[v.Name] = true
			if v.Type == "query" && (v.Datasource == nil || v.Datasource.UID != datasourceUID) {
				t.Errorf("%s: variable %s does not use datasource %q", path, v.Name, datasourceUID)
			}
		}
		ids := map[int]bool{}
		queries := 0
		for _, p := range allPanels(d.Panels) {
			if ids[p.ID] {
				t.Errorf("%s: panel id %d used twice", path, p.ID)
			}
			ids[p.ID] = true
			if p.GridPos == nil {
				t.Errorf("%s: panel %q has no gridPos", path, p.Title)
			}
			if p.Type == "row" || p.Type == "text" {
				continue
			}
			if p.Datasource == nil || p.Datasource.UID != datasourceUID || p.Datasource.Type != "prometheus" {
				t.Errorf("%s: panel %q does not use prometheus datasource %q", path, p.Title, datasourceUID)
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: panel %q has no query", path, p.Title)
			}
			if name, ok := strings.CutPrefix(p.Interval, "$"); ok && !vars[name] {
				t.Errorf("%s: panel %q: min interval refers to unknown variable %s", path, p.Title, p.Interval)
			}
			refs := map[string]bool{}
			for _, tg := range p.Targets {
				queries++
				if tg.Expr == "" {
					t.Errorf("%s: panel %q target %s has no expr", path, p.Title, tg.RefID)
				}
				if refs[tg.RefID] || tg.RefID == "" {
					t.Errorf("%s: panel %q: refId %q missing or used twice", path, p.Title, tg.RefID)
				}
				refs[tg.RefID] = true
				if tg.Datasource != nil && tg.Datasource.UID != datasourceUID {
					t.Errorf("%s: panel %q target %s uses datasource %q", path, p.Title, tg.RefID, tg.Datasource.UID)
				}
			}
		}
		if queries == 0 {
			t.Errorf("%s: no queries", path)
		}
	}
}

// TestDashboardQueries is the acceptance test: every variable query and
// every panel query of every dashboard parses with the PromQL parser and
// runs without error, and every panel query returns data, against the
// fixture. Variables are resolved the way Grafana does it: query variables
// from the data (label values in the dashboard time range), in order, each
// later one seeing the values of the earlier ones.
func TestDashboardQueries(t *testing.T) {
	files := dashboardFiles(t)
	for _, fs := range loadFixtures(t) {
		ev := newEvaluator(fs.q)
		t.Run(fs.name, func(t *testing.T) {
			for _, path := range files {
				d := readDashboard(t, path)
				t.Run(filepath.Base(path), func(t *testing.T) {
					for _, sc := range ev.scenarios(t, d) {
						t.Run(sc.name, func(t *testing.T) {
							vals := ev.resolveVariables(t, d, sc)
							n := 0
							for _, p := range allPanels(d.Panels) {
								for _, tg := range p.Targets {
									ev.checkTarget(t, p, tg, vals)
									n++
								}
							}
							t.Logf("%d panel queries, variables %v", n, vals)
						})
					}
				})
			}
		})
	}
}

type evaluator struct {
	q      storage.Queryable
	engine *promql.Engine
	parser parser.Parser
	start  time.Time
	end    time.Time
}

func newEvaluator(q storage.Queryable) *evaluator {
	p := parser.NewParser(parser.Options{})
	return &evaluator{
		q: q,
		engine: promql.NewEngine(promql.EngineOpts{
			MaxSamples:               50_000_000,
			Timeout:                  time.Minute,
			LookbackDelta:            5 * time.Minute,
			EnableAtModifier:         true,
			EnableNegativeOffset:     true,
			NoStepSubqueryIntervalFn: func(int64) int64 { return time.Minute.Milliseconds() },
			Parser:                   p,
		}),
		parser: p,
		start:  fixtureNow.Add(-fixtureRange),
		end:    fixtureNow,
	}
}

// scenario fixes how the test picks variable values: the first variable
// (the cluster) takes each of its values in turn, later single-value
// variables their first value, multi-value variables their first two
// values or, with all set, "All".
type scenario struct {
	name  string
	first string
	all   bool
}

func (ev *evaluator) scenarios(t *testing.T, d dashboardFile) []scenario {
	if len(d.Templating.List) == 0 {
		return []scenario{{name: "novars"}}
	}
	hasAll := false
	for _, v := range d.Templating.List[1:] {
		hasAll = hasAll || v.IncludeAll
	}
	firstValues := ev.variableValues(t, d.Templating.List[0], map[string]string{})
	var out []scenario
	for _, fv := range firstValues {
		out = append(out, scenario{name: d.Templating.List[0].Name + "=" + fv, first: fv})
		if hasAll {
			out = append(out, scenario{name: d.Templating.List[0].Name + "=" + fv + ",all", first: fv, all: true})
		}
	}
	return out
}

// resolveVariables returns the interpolated value of every variable.
func (ev *evaluator) resolveVariables(t *testing.T, d dashboardFile, sc scenario) map[string]string {
	t.Helper()
	vals := map[string]string{}
	for i, v := range d.Templating.List {
		options := ev.variableValues(t, v, vals)
		var chosen []string
		switch {
		case i == 0 && sc.first != "":
			chosen = []string{sc.first}
		case v.Type == "interval" || v.Type == "custom" || v.Type == "textbox" || v.Type == "constant":
			chosen = []string{options[0]}
			if cur, ok := v.Current.Value.(string); ok && slices.Contains(options, cur) {
				chosen = []string{cur}
			}
		case v.Multi && sc.all && v.IncludeAll:
			if v.AllValue != nil && *v.AllValue != "" {
				vals[v.Name] = *v.AllValue
				continue
			}
			chosen = options
		case v.Multi:
			chosen = options[:min(2, len(options))]
		default:
			chosen = options[:1]
		}
		vals[v.Name] = formatValue(v, chosen)
	}
	return vals
}

// formatValue interpolates a variable value as Grafana's Prometheus
// datasource does: multi-value and include-all variables become a regex
// alternative of regex-escaped values, others are inserted as they are
// (with backslashes and quotes escaped for a PromQL string).
func formatValue(v variable, values []string) string {
	if v.Type == "query" && (v.Multi || v.IncludeAll) {
		esc := make([]string, len(values))
		for i, s := range values {
			esc[i] = strings.ReplaceAll(regexp.QuoteMeta(s), `\`, `\\`)
		}
		if len(esc) == 1 {
			return esc[0]
		}
		return "(" + strings.Join(esc, "|") + ")"
	}
	if len(values) == 0 {
		return ""
	}
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(values[0])
}

var (
	// $name, ${name}, ${name:format}, [[name]], [[name:format]]
	varRefRE      = regexp.MustCompile(`\$(\w+)|\$\{(\w+)(?::\w+)?\}|\[\[(\w+)(?::\w+)?\]\]`)
	labelValuesRE = regexp.MustCompile(`^\s*label_values\s*\((.*)\)\s*$`)
	queryResultRE = regexp.MustCompile(`^\s*query_result\s*\((.*)\)\s*$`)
	legendRefRE   = regexp.MustCompile(`\{\{\s*(\w+)\s*\}\}`)
	labelNameRE   = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// interpolate replaces Grafana variable references; an unknown name fails.
func interpolate(s string, vals map[string]string) (string, error) {
	var unknown []string
	out := varRefRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := varRefRE.FindStringSubmatch(m)
		name := sub[1] + sub[2] + sub[3]
		if v, ok := vals[name]; ok {
			return v
		}
		if v, ok := builtins[name]; ok {
			return v
		}
		unknown = append(unknown, name)
		return m
	})
	if len(unknown) > 0 {
		return "", fmt.Errorf("unknown variable(s) %v", unknown)
	}
	return out, nil
}

// variableValues evaluates a variable's options against the fixture.
func (ev *evaluator) variableValues(t *testing.T, v variable, vals map[string]string) []string {
	t.Helper()
	q, err := v.queryText()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	switch v.Type {
	case "interval", "custom":
		for s := range strings.SplitSeq(q, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		if v.Type == "interval" {
			for _, s := range out {
				if _, err := time.ParseDuration(s); err != nil {
					t.Errorf("variable %s: interval %q: %v", v.Name, s, err)
				}
			}
		}
	case "textbox", "constant":
		out = []string{q}
	case "query":
		expanded, err := interpolate(q, vals)
		if err != nil {
			t.Fatalf("variable %s: %q: %v", v.Name, q, err)
		}
		out = ev.queryVariable(t, v.Name, expanded)
		if v.Regex != "" {
			out = applyRegex(t, v, out)
		}
	default:
		t.Fatalf("variable %s: type %q not handled by this test", v.Name, v.Type)
	}
	if len(out) == 0 {
		t.Fatalf("variable %s: %q has no values on the fixture", v.Name, q)
	}
	return out
}

// queryVariable runs a Prometheus query variable the way Grafana's
// datasource turns it into API calls (protocols.md §1.4).
func (ev *evaluator) queryVariable(t *testing.T, name, q string) []string {
	t.Helper()
	if m := labelValuesRE.FindStringSubmatch(q); m != nil {
		selector, label := splitLabelValuesArgs(m[1])
		if !labelNameRE.MatchString(label) {
			t.Fatalf("variable %s: %q: bad label name %q", name, q, label)
		}
		var matchers []*labels.Matcher
		if selector != "" {
			// label_values(sel, label) is /api/v1/label/<label>/values?match[]=sel:
			// sel must be a valid series selector.
			expr, err := ev.parser.ParseExpr(selector)
			if err != nil {
				t.Fatalf("variable %s: selector %q does not parse: %v", name, selector, err)
			}
			if _, ok := expr.(*parser.VectorSelector); !ok {
				t.Fatalf("variable %s: %q is not a series selector", name, selector)
			}
			matchers, err = ev.parser.ParseMetricSelector(selector)
			if err != nil {
				t.Fatalf("variable %s: selector %q: %v", name, selector, err)
			}
		}
		return ev.labelValues(t, name, label, matchers)
	}
	if m := queryResultRE.FindStringSubmatch(q); m != nil {
		vec := ev.instant(t, name, m[1])
		var out []string
		for _, s := range vec {
			out = append(out, s.Metric.String())
		}
		return out
	}
	t.Fatalf("variable %s: query %q: only label_values(...) and query_result(...) are checked by this test", name, q)
	return nil
}

// splitLabelValuesArgs splits "sel, label" at the last comma outside
// braces and quotes; a single argument is a label name.
func splitLabelValuesArgs(args string) (selector, label string) {
	depth, quote, cut := 0, rune(0), -1
	prevBackslash := false
	for i, r := range args {
		switch {
		case quote != 0:
			if r == quote && !prevBackslash {
				quote = 0
			}
		case r == '"' || r == '\'' || r == '`':
			quote = r
		case r == '{' || r == '(' || r == '[':
			depth++
		case r == '}' || r == ')' || r == ']':
			depth--
		case r == ',' && depth == 0:
			cut = i
		}
		prevBackslash = r == '\\' && !prevBackslash
	}
	if cut < 0 {
		return "", strings.TrimSpace(args)
	}
	return strings.TrimSpace(args[:cut]), strings.TrimSpace(args[cut+1:])
}

func (ev *evaluator) labelValues(t *testing.T, name, label string, matchers []*labels.Matcher) []string {
	t.Helper()
	ctx := context.Background()
	querier, err := ev.q.Querier(ev.start.UnixMilli(), ev.end.UnixMilli())
	if err != nil {
		t.Fatalf("variable %s: cannot open querier: %v", name, err)
	}
	defer querier.Close()
	vals, _, err := querier.LabelValues(ctx, label, &storage.LabelHints{}, matchers...)
	if err != nil {
		t.Fatalf("variable %s: label values of %s: %v", name, label, err)
	}
	return vals
}

func applyRegex(t *testing.T, v variable, in []string) []string {
	re, err := regexp.Compile(strings.Trim(v.Regex, "/"))
	if err != nil {
		t.Fatalf("variable %s: regex %q: %v", v.Name, v.Regex, err)
	}
	var out []string
	for _, s := range in {
		m := re.FindStringSubmatch(s)
		switch {
		case m == nil:
		case len(m) > 1:
			out = append(out, m[1])
		default:
			out = append(out, s)
		}
	}
	return out
}

// checkTarget interpolates, parses and evaluates one panel query the way
// the panel asks for it (range and/or instant) and checks its result.
func (ev *evaluator) checkTarget(t *testing.T, p panel, tg target, vals map[string]string) {
	t.Helper()
	where := fmt.Sprintf("panel %q target %s", p.Title, tg.RefID)
	expr, err := interpolate(tg.Expr, vals)
	if err != nil {
		t.Errorf("%s: %q: %v", where, tg.Expr, err)
		return
	}
	if _, err := ev.parser.ParseExpr(expr); err != nil {
		t.Errorf("%s: %q does not parse: %v", where, expr, err)
		return
	}
	if tg.Range || !tg.Instant {
		ev.checkResult(t, where+" (range)", expr, tg, ev.rangeQuery(t, where, expr))
	}
	if tg.Instant {
		ev.checkResult(t, where+" (instant)", expr, tg, ev.run(t, where, expr, true))
	}
}

func (ev *evaluator) rangeQuery(t *testing.T, where, expr string) parser.Value {
	return ev.run(t, where, expr, false)
}

func (ev *evaluator) instant(t *testing.T, where, expr string) promql.Vector {
	t.Helper()
	if _, err := ev.parser.ParseExpr(expr); err != nil {
		t.Fatalf("%s: %q does not parse: %v", where, expr, err)
	}
	v := ev.run(t, where, expr, true)
	vec, ok := v.(promql.Vector)
	if !ok {
		t.Fatalf("%s: %q returns %s, want vector", where, expr, v.Type())
	}
	return vec
}

// run evaluates expr; an error or a PromQL warning fails the test.
func (ev *evaluator) run(t *testing.T, where, expr string, instant bool) parser.Value {
	t.Helper()
	ctx := context.Background()
	var (
		qry promql.Query
		err error
	)
	if instant {
		qry, err = ev.engine.NewInstantQuery(ctx, ev.q, nil, expr, ev.end)
	} else {
		qry, err = ev.engine.NewRangeQuery(ctx, ev.q, nil, expr, ev.start, ev.end, fixtureStepSize)
	}
	if err != nil {
		t.Errorf("%s: %q: %v", where, expr, err)
		return nil
	}
	defer qry.Close()
	res := qry.Exec(ctx)
	if res.Err != nil {
		t.Errorf("%s: %q: %v", where, expr, res.Err)
		return nil
	}
	for _, w := range res.Warnings.AsErrors() {
		if errors.Is(w, annotations.PromQLWarning) {
			t.Errorf("%s: %q: %v", where, expr, w)
		}
	}
	return res.Value
}

// checkResult: the query must return at least one finite value, and every
// label its legend names must be present on every series.
func (ev *evaluator) checkResult(t *testing.T, where, expr string, tg target, v parser.Value) {
	t.Helper()
	if v == nil {
		return // error already reported
	}
	var (
		series []labels.Labels
		finite bool
	)
	switch v := v.(type) {
	case promql.Matrix:
		for _, s := range v {
			series = append(series, s.Metric)
			for _, f := range s.Floats {
				finite = finite || !math.IsNaN(f.F) && !math.IsInf(f.F, 0)
			}
		}
	case promql.Vector:
		for _, s := range v {
			series = append(series, s.Metric)
			finite = finite || !math.IsNaN(s.F) && !math.IsInf(s.F, 0)
		}
	case promql.Scalar:
		finite = !math.IsNaN(v.V) && !math.IsInf(v.V, 0)
	default:
		t.Errorf("%s: %q returns %s", where, expr, v.Type())
		return
	}
	if !finite {
		t.Errorf("%s: %q returns no data on the fixture", where, expr)
	}
	for _, m := range legendRefRE.FindAllStringSubmatch(tg.LegendFormat, -1) {
		for _, ls := range series {
			if ls.Get(m[1]) == "" {
				t.Errorf("%s: legend %q names label %s, missing on %s", where, tg.LegendFormat, m[1], ls)
				break
			}
		}
	}
}
