// Package controllers holds ecufleet's control loops: the DiagnosticJob scheduler (per-ECU queues
// and the claim protocol that never gives one ECU two jobs), the ECU status roll-up and the
// DiagnosticAgent liveness check. Every pass derives its state from the API server (through the
// manager's cache), so a restarted controller carries on exactly where the last one stopped.
// docs/architecture.md explains the claim protocol, the queue order and every crash point.
package controllers
