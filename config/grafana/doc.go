// Package grafana holds ecufleet's Grafana dashboard (ecufleet.json); its test checks that
// every metric the dashboard queries is one the controller registers.
package grafana
