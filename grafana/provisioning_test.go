package grafana

import (
	"os"
	"path/filepath"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestProvisioning checks the provisioning files against what Grafana and
// the bridge need (docs/grafana.md): a Prometheus datasource using POST at
// the bridge's default address with the uid the dashboards use, and a file
// provider for the dashboards.
func TestProvisioning(t *testing.T) {
	var ds struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			Name     string         `yaml:"name"`
			UID      string         `yaml:"uid"`
			Type     string         `yaml:"type"`
			Access   string         `yaml:"access"`
			URL      string         `yaml:"url"`
			JSONData map[string]any `yaml:"jsonData"`
		} `yaml:"datasources"`
	}
	readYAML(t, filepath.Join("provisioning", "datasources", "cc-metric-bridge.yaml"), &ds)
	if ds.APIVersion != 1 || len(ds.Datasources) != 1 {
		t.Fatalf("datasource file: apiVersion %d, %d datasources; want 1 and 1", ds.APIVersion, len(ds.Datasources))
	}
	d := ds.Datasources[0]
	if d.UID != datasourceUID || d.Type != "prometheus" || d.Access != "proxy" || d.URL != "http://127.0.0.1:8080" {
		t.Errorf("datasource: uid %q type %q access %q url %q", d.UID, d.Type, d.Access, d.URL)
	}
	for k, want := range map[string]string{
		"httpMethod":     "POST",
		"prometheusType": "Prometheus",
		"timeInterval":   "60s",
	} {
		if got, _ := d.JSONData[k].(string); got != want {
			t.Errorf("datasource jsonData.%s = %v, want %q", k, d.JSONData[k], want)
		}
	}

	var dp struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Name    string `yaml:"name"`
			Type    string `yaml:"type"`
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, filepath.Join("provisioning", "dashboards", "cc-metric-bridge.yaml"), &dp)
	if dp.APIVersion != 1 || len(dp.Providers) != 1 {
		t.Fatalf("dashboard provider file: apiVersion %d, %d providers; want 1 and 1", dp.APIVersion, len(dp.Providers))
	}
	if p := dp.Providers[0]; p.Type != "file" || !filepath.IsAbs(p.Options.Path) {
		t.Errorf("dashboard provider: type %q path %q, want file provider with an absolute path", p.Type, p.Options.Path)
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
