package agent_test

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/sys/unix"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ecufleet/ecufleet/agent"
	"github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/pkg/ecusim"
)

// The discovery network: a veth pair whose far end lives in a network namespace of its own,
// with a simulated DoIP entity listening there on the standard port. Nothing else is on it.
const (
	discoverSubnet = "10.213.47.0/24"
	agentSideAddr  = "10.213.47.1/24"
	simSideIP      = "10.213.47.2"
)

var _ = Describe("Discovery", func() {
	It("lists the DoIP entities that answer a broadcast on the discovery interface, and ages them out", func() {
		if os.Geteuid() != 0 {
			Skip("discovery needs root to create a network namespace and a veth pair; run the suite as root to cover it")
		}
		if _, err := exec.LookPath("ip"); err != nil {
			Skip("discovery needs iproute2's ip command to create the test network: " + err.Error())
		}
		if out, _ := exec.Command("ip", "route", "show", discoverSubnet).Output(); len(strings.TrimSpace(string(out))) > 0 {
			Skip("the test subnet " + discoverSubnet + " is already routed on this host; not touching it")
		}
		id := os.Getpid() % 100000
		netns, hostIf, simIf := fmt.Sprintf("ecufleet-disc-%d", id), fmt.Sprintf("efd%da", id), fmt.Sprintf("efd%db", id)
		ip("netns", "add", netns)
		DeferCleanup(ip, "netns", "del", netns)
		ip("link", "add", hostIf, "type", "veth", "peer", "name", simIf)
		DeferCleanup(ip, "link", "del", hostIf) // deletes both ends
		ip("link", "set", simIf, "netns", netns)
		ip("addr", "add", agentSideAddr, "dev", hostIf)
		ip("link", "set", hostIf, "up")
		ip("-n", netns, "addr", "add", simSideIP+"/24", "dev", simIf)
		ip("-n", netns, "link", "set", simIf, "up")

		sim, err := ecusim.New(ecusim.Config{Listen: "0.0.0.0:13400", LogicalAddress: 0x1001, VIN: "WVWZZZ1JZXW0DISCO",
			EID: "00 1A 2B 3C 4D 5E", GID: "00 1A 2B 3C 4D 00", Logger: GinkgoLogr.WithName("sim-netns")})
		Expect(err).NotTo(HaveOccurred())
		Expect(inNetns(netns, func() error { return sim.Start(suiteCtx) })).To(Succeed())
		stopped := false
		DeferCleanup(func(ctx SpecContext) {
			if !stopped {
				Expect(sim.Shutdown(ctx)).To(Succeed())
			}
		})

		name := fmt.Sprintf("discover-%d", id)
		startAgent(name, nil, func(o *agent.Options) {
			o.DiscoverInterface = hostIf
			o.DiscoverInterval = time.Second
		})
		a := &v1alpha1.DiagnosticAgent{}
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(suiteCtx, client.ObjectKey{Name: name}, a)).To(Succeed())
			g.Expect(a.Status.Discovered).To(HaveLen(1))
			d := a.Status.Discovered[0]
			g.Expect(d.Address).To(Equal(simSideIP))
			g.Expect(d.LogicalAddress).To(BeEquivalentTo(0x1001))
			g.Expect(d.VIN).To(Equal("WVWZZZ1JZXW0DISCO"))
			g.Expect(d.EID).To(Equal("00:1A:2B:3C:4D:5E"))
			g.Expect(d.GID).To(Equal("00:1A:2B:3C:4D:00"))
			g.Expect(d.LastSeen.IsZero()).To(BeFalse())
		}).Should(Succeed())

		// The entity goes away: after three silent rounds it leaves the list.
		Expect(sim.Shutdown(suiteCtx)).To(Succeed())
		stopped = true
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(suiteCtx, client.ObjectKey{Name: name}, a)).To(Succeed())
			g.Expect(a.Status.Discovered).To(BeEmpty())
		}).Should(Succeed())
	})
})

// ip runs one iproute2 command and fails the spec with its output when it fails.
func ip(args ...string) {
	out, err := exec.Command("ip", args...).CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), "ip %s: %s", strings.Join(args, " "), out)
}

// inNetns runs fn on an OS thread switched into the named network namespace, so that the
// sockets fn opens live there. The thread is never handed back to the Go scheduler: the
// goroutine ends locked, which makes the runtime discard the thread.
func inNetns(name string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		f, err := os.Open("/var/run/netns/" + name)
		if err != nil {
			errc <- fmt.Errorf("open network namespace %s: %w", name, err)
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("enter network namespace %s: %w", name, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}
