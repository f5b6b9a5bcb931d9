package native

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
)

// free drops old data below the given paths: POST /api/free?to=<unix s>
// with a JSON array of string paths.
func (a *API) free(c *gin.Context) {
	toStr, ok := c.GetQuery("to")
	if !ok {
		jsonError(c, http.StatusBadRequest, "'to' is a required query parameter")
		return
	}
	to, err := strconv.ParseInt(toStr, 10, 64)
	if err != nil {
		// The reference answers 500 here; a client mistake is a 400.
		jsonError(c, http.StatusBadRequest, err.Error())
		return
	}
	body, err := a.readBody(c)
	defer a.releaseBody(body)
	if err != nil {
		a.bodyError(c, err)
		return
	}
	var paths [][]string
	if err := json.NewDecoder(bytes.NewReader(body.Bytes())).Decode(&paths); err != nil {
		c.String(http.StatusBadRequest, "%s\n", err.Error())
		return
	}
	n := 0
	ms := to * 1000
	if to > maxSeconds {
		ms = 1 << 62
	} else if to < -maxSeconds {
		ms = -(1 << 62)
	}
	for _, p := range paths {
		n += a.opt.Store.Free(p, ms)
	}
	c.String(http.StatusOK, "buffers freed: %d\n", n)
}

// maxSeconds keeps second timestamps convertible to milliseconds.
const maxSeconds = 1 << 52

// debug dumps the tree below ?selector=a:b:c as JSON (the reference's dump
// is not valid JSON; ours is, with the same structure).
func (a *API) debug(c *gin.Context) {
	l := a.opt.Store.Root()
	var path []string
	if sel := c.Query("selector"); sel != "" {
		path = strings.Split(sel, ":")
	}
	for i, p := range path {
		var next *core.Level
		for _, ch := range l.Children() {
			if ch.Name() == p {
				next = ch
				break
			}
		}
		if next == nil {
			jsonError(c, http.StatusBadRequest, fmt.Sprintf("[METRICSTORE]> not found: %#v", path[:i+1]))
			return
		}
		l = next
	}
	out := append([]byte(`{"data":`), appendLevel(nil, l)...)
	c.Data(http.StatusOK, "application/json", append(out, "}\n"...))
}

func appendLevel(dst []byte, l *core.Level) []byte {
	dst = append(dst, '{')
	for _, ch := range l.Children() {
		dst = append(dst, quote(ch.Name())...)
		dst = append(dst, ':')
		dst = appendLevel(dst, ch)
		dst = append(dst, ',')
	}
	for _, s := range l.Series() {
		name := s.Metric().Name
		if l := s.Labels(); l != "" {
			// name 0xff value 0xff ... → {name=value,...}
			parts := strings.Split(strings.TrimSuffix(l, "\xff"), "\xff")
			var b strings.Builder
			for i := 0; i+1 < len(parts); i += 2 {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString(parts[i] + "=" + parts[i+1])
			}
			name += "{" + b.String() + "}"
		}
		dst = append(dst, quote(name)...)
		dst = append(dst, ":["...)
		for i, ci := range s.Chunks() {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = fmt.Appendf(dst, `{"start":%d,"len":%d,"end":%d,"samples":%d}`, ci.Start, ci.Len, ci.End, ci.Samples)
		}
		dst = append(dst, "],"...)
	}
	if dst[len(dst)-1] == ',' {
		dst = dst[:len(dst)-1]
	}
	return append(dst, '}')
}

// healthRequest is the reference's healthcheck body; unknown keys are errors.
type healthRequest struct {
	Cluster     string   `json:"cluster"`
	Nodes       []string `json:"nodes"`
	MetricNames []string `json:"metric-names"`
}

type nodeHealth struct {
	State         string
	HealthMetrics string
}

// healthcheck answers cc-backend's node health query. Without a body (what
// load balancers and monitors send) it reports the server's own state.
func (a *API) healthcheck(c *gin.Context) {
	body, err := a.readBody(c)
	defer a.releaseBody(body)
	if err != nil {
		a.bodyError(c, err)
		return
	}
	if len(bytes.TrimSpace(body.Bytes())) == 0 {
		var state any = map[string]string{"status": "ok"}
		if a.opt.Health != nil {
			state = a.opt.Health()
		}
		code := http.StatusOK
		if a.opt.Ready != nil && !a.opt.Ready() {
			code = http.StatusServiceUnavailable
		}
		c.JSON(code, state)
		return
	}
	if a.requireReady(c); c.IsAborted() {
		return
	}
	if a.opt.Auth != nil {
		// The middleware aborts with 401, or calls Next, which finds no
		// further handler in this route's chain.
		if a.opt.Auth(c); c.IsAborted() {
			return
		}
	}
	var req healthRequest
	dec := json.NewDecoder(bytes.NewReader(body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		jsonError(c, http.StatusBadRequest, "parsing request body failed: "+err.Error())
		return
	}
	now := time.Now().UnixMilli()
	out := make(map[string]nodeHealth, len(req.Nodes))
	for _, node := range req.Nodes {
		found, degraded, missing := a.opt.Store.Health(req.Cluster, node, req.MetricNames, now)
		if !found {
			out[node] = nodeHealth{State: "failed"}
			continue
		}
		hm, _ := json.Marshal(struct {
			Degraded []string `json:"degraded"`
			Missing  []string `json:"missing"`
		}{degraded, missing})
		state := "partial"
		switch healthy := len(req.MetricNames) - len(degraded) - len(missing); {
		case len(degraded) == 0 && len(missing) == 0:
			state = "full"
		case healthy == 0:
			state = "failed"
		}
		out[node] = nodeHealth{State: state, HealthMetrics: string(hm)}
	}
	b, _ := json.Marshal(out)
	c.Data(http.StatusOK, "application/json", append(b, '\n'))
}
