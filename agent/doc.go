// Package agent is the ecufleet node agent: the process on a host cabled to a vehicle network
// that speaks DoIP and UDS to the ECUs the controller assigns to it.
//
// An Agent registers its DiagnosticAgent, proves it is alive by renewing a Lease, runs the
// DiagnosticJobs bound to it (one DoIP connection per job, step results patched into the job
// as they end), probes the ECUs it serves and, when asked to, discovers DoIP entities on a
// network interface. Everything it needs to resume after a restart lives in the API server;
// see docs/agent.md for the protocol it follows with the controller.
package agent
