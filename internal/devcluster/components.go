package devcluster

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/ecufleet/ecufleet/agent"
	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/pkg/ecusim"
)

// Identity of the dev cluster's simulated ECUs (sim-0, sim-1, ...).
const (
	// SimNamespace holds the ECU objects of the simulated ECUs.
	SimNamespace = "default"
	// SimLogicalAddress is every simulated ECU's logical address: each has a port of its own.
	SimLogicalAddress = ecusim.DefaultLogicalAddress
	// SimHost is where simulators listen: the loopback interface, never a real network.
	SimHost = "127.0.0.1"
)

// Every dev agent carries the label bench=local, the agentSelector of the demo rack's gateway
// ECUs: agents run on the bench the simulators run on.
const (
	// AgentLabelKey is the key of the dev agents' label.
	AgentLabelKey = "bench"
	// AgentLabelValue is the value of the dev agents' label.
	AgentLabelValue = "local"
)

// simProbe makes ECU readiness follow a simulator within seconds: probe every 2 s and declare it
// unreachable after two failed probes.
var simProbe = diagv1.ProbeSpec{Method: diagv1.ProbeEntityStatus, PeriodSeconds: 2, TimeoutSeconds: 1, FailureThreshold: 2}

// devManagerOptions turns off the metrics and health endpoints (several dev clusters may share a
// machine, and the tests run several managers in one process).
func devManagerOptions(log logr.Logger) ctrl.Options {
	return ctrl.Options{
		Logger:                 log,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             config.Controller{SkipNameValidation: ptr.To(true)},
	}
}

// startAgent runs an agent in-process with its default lease timing.
func (c *Cluster) startAgent(name string) error {
	labels := map[string]string{AgentLabelKey: AgentLabelValue}
	a, err := agent.New(c.Config(), agent.Options{Name: name, Labels: labels, Logger: c.log.WithName(name)})
	if err != nil {
		return fmt.Errorf("creating agent %s: %w", name, err)
	}
	c.run("agent "+name, a.Run)
	fmt.Fprintf(c.progress, "Agent %s started\n", name)
	return nil
}

// StartSim starts a simulated ECU that Stop shuts down, for ECUs beyond sim-0... (the demo rack).
// cfg.Listen should be SimHost with port 0.
func (c *Cluster) StartSim(ctx context.Context, cfg ecusim.Config) (*ecusim.Sim, error) {
	sim, err := ecusim.New(cfg)
	if err != nil {
		return nil, err
	}
	if err := sim.Start(ctx); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx.Err() != nil {
		return nil, errors.Join(errors.New("dev cluster: StartSim after Stop"), sim.Shutdown(context.Background()))
	}
	c.sims = append(c.sims, sim)
	return sim, nil
}

// SimPort is the port a started simulator listens on (TCP and UDP).
func SimPort(sim *ecusim.Sim) int32 { return int32(sim.Addr().(*net.TCPAddr).Port) }

// startDevSim starts simulated ECU i and creates its ECU object sim-i.
func (c *Cluster) startDevSim(ctx context.Context, i int) error {
	name := fmt.Sprintf("sim-%d", i)
	cfg := devSimConfig(i)
	cfg.Logger = c.log.WithName(name)
	sim, err := c.StartSim(ctx, cfg)
	if err != nil {
		return fmt.Errorf("starting simulated ECU %s: %w", name, err)
	}
	ecu := devECU(name, SimPort(sim))
	if err := c.client.Create(ctx, ecu); err != nil {
		return fmt.Errorf("creating ECU %s/%s: %w", ecu.Namespace, ecu.Name, err)
	}
	fmt.Fprintf(c.progress, "Simulated ECU %s on %s (logical address 0x%04X, VIN %s)\n", name, sim.Addr(), SimLogicalAddress, cfg.VIN)
	return nil
}

// devSimConfig gives simulator i a VIN and an EID of its own, so that vehicle identification
// tells the simulators apart.
func devSimConfig(i int) ecusim.Config {
	return ecusim.Config{
		Listen:         net.JoinHostPort(SimHost, "0"),
		LogicalAddress: SimLogicalAddress,
		VIN:            fmt.Sprintf("ECUFLEETDEV%06d", i),
		EID:            ecusim.Hex(fmt.Sprintf("02:EC:F1:00:%02X:%02X", byte(i>>8), byte(i))),
	}
}

// devECU is the ECU object of a dev simulator, labelled rack=dev for job ecuSelectors.
func devECU(name string, port int32) *diagv1.ECU {
	probe := simProbe
	return &diagv1.ECU{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: SimNamespace, Labels: map[string]string{"rack": "dev"}},
		Spec: diagv1.ECUSpec{
			Address:        SimHost,
			Port:           port,
			LogicalAddress: SimLogicalAddress,
			Probe:          &probe,
		},
	}
}
