package promapi

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
)

// Parameter parsing follows web/api/v1 of Prometheus 3.16 to the letter:
// clients (Grafana, promtool, the compliance tester) depend on the accepted
// forms and on the error texts.

var (
	// minTime and maxTime are the defaults of optional start/end parameters,
	// Prometheus' MinTime and MaxTime (see web/api/v1: chosen so that their
	// RFC 3339 renderings parse back).
	minTime = time.Unix(math.MinInt64/1000+62135596801, 0).UTC()
	maxTime = time.Unix(math.MaxInt64/1000-62135596801, 999999999).UTC()

	minTimeFormatted = minTime.Format(time.RFC3339Nano)
	maxTimeFormatted = maxTime.Format(time.RFC3339Nano)
)

// parseTime accepts Unix seconds as a float (the fraction is rounded to
// milliseconds) or RFC 3339 with optional fraction, plus the renderings of
// minTime and maxTime, which time.Parse cannot read (years beyond 9999).
func parseTime(s string) (time.Time, error) {
	if t, err := strconv.ParseFloat(s, 64); err == nil {
		s, ns := math.Modf(t)
		ns = math.Round(ns*1000) / 1000
		return time.Unix(int64(s), int64(ns*float64(time.Second))).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	switch s {
	case minTimeFormatted:
		return minTime, nil
	case maxTimeFormatted:
		return maxTime, nil
	}
	return time.Time{}, fmt.Errorf("cannot parse %q to a valid timestamp", s)
}

// parseTimeParam reads an optional time parameter; def when absent.
func parseTimeParam(r *http.Request, name string, def time.Time) (time.Time, error) {
	v := r.FormValue(name)
	if v == "" {
		return def, nil
	}
	t, err := parseTime(v)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid time value for '%s': %w", name, err)
	}
	return t, nil
}

// parseDuration accepts float seconds or a Prometheus duration
// ("1m30s", "2d"; no fractional unit values).
func parseDuration(s string) (time.Duration, error) {
	if d, err := strconv.ParseFloat(s, 64); err == nil {
		ts := d * float64(time.Second)
		// float64(math.MaxInt64) is 2^63, which int64 cannot hold, and NaN
		// passes every comparison.
		if math.IsNaN(ts) || ts >= float64(math.MaxInt64) || ts < float64(math.MinInt64) {
			return 0, fmt.Errorf("cannot parse %q to a valid duration. It overflows int64", s)
		}
		return time.Duration(ts), nil
	}
	if d, err := model.ParseDuration(s); err == nil {
		return time.Duration(d), nil
	}
	return 0, fmt.Errorf("cannot parse %q to a valid duration", s)
}

// parseLimit reads "limit": 0 (or absent) means no limit.
func parseLimit(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return n, err
	}
	if n < 0 {
		return n, errors.New("limit must be non-negative")
	}
	return n, nil
}

// hintLimit asks the storage for one more than the API limit, so that
// truncation can be detected and reported.
func hintLimit(limit int) int {
	if limit > 0 && limit < math.MaxInt {
		return limit + 1
	}
	return limit
}

// parseMatchers parses match[] selectors; each set needs a matcher that does
// not match the empty string, or it would select every series.
func (a *API) parseMatchers(sel []string) ([][]*labels.Matcher, error) {
	sets, err := a.parser.ParseMetricSelectors(sel)
	if err != nil {
		return nil, err
	}
outer:
	for _, ms := range sets {
		for _, m := range ms {
			if m != nil && !m.Matches("") {
				continue outer
			}
		}
		return nil, errors.New("match[] must contain at least one non-empty matcher")
	}
	return sets, nil
}

// labelNameParam decodes a label name from the path: names starting with
// U__ are values-escaped (Grafana sends U__http_2e_status_code for
// http.status_code).
func labelNameParam(name string) (string, error) {
	if strings.HasPrefix(name, "U__") {
		name = model.UnescapeName(name, model.ValueEncodingEscaping)
	}
	if !model.UTF8Validation.IsValidLabelName(name) {
		return "", fmt.Errorf("invalid label name: %q", name)
	}
	return name, nil
}

// toMillis converts to Unix milliseconds, saturating instead of overflowing
// (parseTime accepts any float, e.g. Grafana's milliseconds sent as seconds).
func toMillis(t time.Time) int64 {
	s := t.Unix()
	switch {
	case s > math.MaxInt64/1000-1:
		return math.MaxInt64
	case s < math.MinInt64/1000+1:
		return math.MinInt64
	}
	return s*1000 + int64(t.Nanosecond())/int64(time.Millisecond)
}
