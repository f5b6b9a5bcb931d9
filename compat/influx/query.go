package influx

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// ping serves /ping: 204 with the version headers, or with verbose=true
// 200 {"version":...}, as InfluxDB 1.x does. It needs no credentials.
func (a *API) ping(c *gin.Context) {
	switch v := c.Query("verbose"); v {
	case "", "0", "false":
		c.Status(http.StatusNoContent)
	default:
		a.writeJSON(c, http.StatusOK, struct {
			Version string `json:"version"`
		}{Version})
	}
}

// health serves /health as InfluxDB 2.x does. The store has no failure
// state of its own: if this answers, writes are accepted.
func (a *API) health(c *gin.Context) {
	a.writeJSON(c, http.StatusOK, struct {
		Name    string   `json:"name"`
		Message string   `json:"message"`
		Status  string   `json:"status"`
		Checks  []string `json:"checks"`
		Version string   `json:"version"`
		Commit  string   `json:"commit"`
	}{"influxdb", "ready for queries and writes", "pass", []string{}, Version, "cc-metric-bridge"})
}

// ready serves /ready as InfluxDB 2.x does.
func (a *API) ready(c *gin.Context) {
	a.writeJSON(c, http.StatusOK, struct {
		Status  string `json:"status"`
		Started string `json:"started"`
		Up      string `json:"up"`
	}{"ready", a.started.UTC().Format(time.RFC3339Nano), time.Since(a.started).Round(time.Millisecond).String()})
}

// query serves /query, InfluxQL over HTTP, as a stub: the data is read
// through the Prometheus or cc-metric-store APIs, but clients send a few
// statements on their own (Telegraf: CREATE DATABASE at start-up) and must
// not see an error for them. See statement for what is answered how.
func (a *API) query(c *gin.Context) {
	if !a.authorize(c, v1) {
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxQueryBytes)
	if err := c.Request.ParseForm(); err != nil {
		a.fail(c, v1, http.StatusBadRequest, "", "cannot parse query: "+err.Error())
		return
	}
	q := c.Request.Form.Get("q")
	if strings.TrimSpace(q) == "" {
		a.fail(c, v1, http.StatusBadRequest, "", `missing required parameter "q"`)
		return
	}
	var res queryResults
	res.Results = []queryResult{}
	for i, stmt := range splitStatements(q) {
		res.Results = append(res.Results, a.statement(i, stmt))
	}
	a.writeJSON(c, http.StatusOK, res)
}

type queryResults struct {
	Results []queryResult `json:"results"`
}

type queryResult struct {
	StatementID int           `json:"statement_id"`
	Series      []querySeries `json:"series,omitempty"`
	Error       string        `json:"error,omitempty"`
}

type querySeries struct {
	Name    string   `json:"name,omitempty"`
	Columns []string `json:"columns"`
	Values  [][]any  `json:"values,omitempty"`
}

// errQueryUnsupported is the statement error for queries of data.
const errQueryUnsupported = "not supported: this server accepts Influx writes only; " +
	"read the data through the Prometheus API (/api/v1/query) or the cc-metric-store API (/api/query)"

// statement answers one InfluxQL statement:
//   - CREATE DATABASE, CREATE/ALTER RETENTION POLICY: success, nothing to
//     do (there are no databases; the db parameter of writes is ignored
//     unless it names the cluster);
//   - SHOW DATABASES: the clusters held in the store;
//   - SHOW RETENTION POLICIES: the one policy "autogen", infinite;
//   - other SHOW statements (measurements, tag keys, ...): an empty result;
//   - anything else (SELECT, DROP, DELETE, ...): a statement error, 200,
//     as InfluxDB answers a failed statement, so that nobody believes data
//     was dropped or deleted.
func (a *API) statement(id int, stmt string) queryResult {
	res := queryResult{StatementID: id}
	w := strings.Fields(strings.ToUpper(stmt))
	word := func(i int) string {
		if i < len(w) {
			return w[i]
		}
		return ""
	}
	switch {
	case word(0) == "CREATE" && word(1) == "DATABASE",
		(word(0) == "CREATE" || word(0) == "ALTER") && word(1) == "RETENTION" && word(2) == "POLICY":
	case word(0) == "SHOW" && word(1) == "DATABASES":
		s := querySeries{Name: "databases", Columns: []string{"name"}}
		for _, cl := range a.opt.Store.Root().Children() {
			s.Values = append(s.Values, []any{cl.Name()})
		}
		res.Series = []querySeries{s}
	case word(0) == "SHOW" && word(1) == "RETENTION" && word(2) == "POLICIES":
		res.Series = []querySeries{{
			Columns: []string{"name", "duration", "shardGroupDuration", "replicaN", "default"},
			Values:  [][]any{{"autogen", "0s", "168h0m0s", 1, true}},
		}}
	case word(0) == "SHOW":
	default:
		res.Error = errQueryUnsupported
	}
	return res
}

// splitStatements splits q at semicolons outside quotes and drops empty
// statements.
func splitStatements(q string) []string {
	var out []string
	var quote byte
	start := 0
	for i := 0; i < len(q); i++ {
		switch c := q[i]; {
		case quote != 0 && c == '\\':
			i++
		case quote != 0 && c == quote:
			quote = 0
		case quote == 0 && (c == '"' || c == '\''):
			quote = c
		case quote == 0 && c == ';':
			if s := strings.TrimSpace(q[start:i]); s != "" {
				out = append(out, s)
			}
			start = i + 1
		}
	}
	if s := strings.TrimSpace(q[start:]); s != "" {
		out = append(out, s)
	}
	return out
}

// writeJSON answers v as JSON without HTML escaping (error texts quote
// lines that may contain <, > or &).
func (a *API) writeJSON(c *gin.Context, status int, v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil { // not expected: plain types only
		b.Reset()
		b.WriteString(`{"error":"cannot encode the answer"}` + "\n")
		status = http.StatusInternalServerError
	}
	c.Data(status, "application/json", b.Bytes())
}
