package promlabels

import (
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
)

// FuzzRoundTrip checks FromSeries(store(ToKey(ls))) == ls for arbitrary
// label sets, given as "name=value" lines.
func FuzzRoundTrip(f *testing.F) {
	f.Add("__name__=up\ninstance=h:9100\njob=node", "d")
	f.Add("__name__=m\ncluster=c\nhostname=h\ntype=hwthread\ntype_id=1", "")
	f.Add("__name__=m\ncluster=c\nhostname=h\ntype=socket\ntype-id=0\nstype=core\nstype_id=3", "c")
	f.Add("__name__=m\nhostname=../x\ntype=node", "c")
	f.Add("__name__=resource.cpu.usage\njob name=ü", "c")
	f.Fuzz(func(t *testing.T, text, def string) {
		m := map[string]string{}
		for _, line := range strings.Split(text, "\n") {
			n, v, _ := strings.Cut(line, "=")
			m[n] = v
		}
		ls := labels.FromMap(m)
		var k core.Key
		if _, err := ToKey(ls, def, &k, nil); err != nil {
			return // invalid sets are rejected, never stored
		}
		st, err := core.New(core.Options{DefaultFrequency: 60})
		if err != nil {
			t.Fatal(err)
		}
		app := st.Appender()
		if err := app.Append(&k, 1, 1); err != nil {
			app.Commit()
			return // e.g. names the store refuses
		}
		app.Commit()
		s := findSeries(st, &k)
		if s == nil {
			t.Fatalf("series %s not found", keyString(&k))
		}
		var b labels.ScratchBuilder
		if got, want := FromSeries(s, &b), ls.WithoutEmpty(); !labels.Equal(got, want) {
			t.Fatalf("round trip of %s via %s: got %s", want, keyString(&k), got)
		}
	})
}
