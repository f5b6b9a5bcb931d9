// Package grafana holds no code: the directory carries Grafana provisioning
// files for cc-metric-bridge (a Prometheus datasource and dashboards for
// cluster, node and job views; see docs/grafana.md). Its tests parse every
// dashboard query with the PromQL parser and evaluate it with the Prometheus
// engine against ClusterCockpit-style test data, so a dashboard cannot ship
// with a query that fails on the bridge.
package grafana
