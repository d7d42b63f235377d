package agent

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/pkg/doip"
)

// Discovery timing.
const (
	// discoverWait is how long one round collects answers (A_DoIP_Ctrl).
	discoverWait = 2 * time.Second
	// discoverAgeOut forgets an entity after this many silent rounds.
	discoverAgeOut = 3
)

// discover broadcasts a vehicle identification request on the configured interface every
// DiscoverInterval and keeps what answered for status.discovered. It runs until ctx ends.
func (rp *reporter) discover(ctx context.Context) error {
	t := time.NewTimer(0)
	defer t.Stop()
	lastErr := ""
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := rp.discoverOnce(ctx); err != nil && ctx.Err() == nil {
			if err.Error() != lastErr { // a missing interface would otherwise log every round
				rp.log.Error(err, "Discovery failed", "interface", rp.opts.DiscoverInterface)
			}
			lastErr = err.Error()
		} else {
			lastErr = ""
		}
		t.Reset(rp.opts.DiscoverInterval)
	}
}

// discoverOnce runs one discovery round and ages out entities that stopped answering.
func (rp *reporter) discoverOnce(ctx context.Context) error {
	local, broadcast, err := interfaceBroadcast(rp.opts.DiscoverInterface)
	if err != nil {
		return err
	}
	c := doip.Client{LocalAddr: local.String(), ProtocolVersion: doip.VersionDefault}
	wait := min(discoverWait, rp.opts.DiscoverInterval)
	dctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	found, err := c.Discover(dctx, net.JoinHostPort(broadcast.String(), strconv.Itoa(doip.Port)), doip.IdentifyQuery{})
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("discover on %s (%s): %w", rp.opts.DiscoverInterface, broadcast, err)
	}
	now := metav1.Now()
	rp.mu.Lock()
	for _, f := range found {
		addr := f.From.String()
		if ua, ok := f.From.(*net.UDPAddr); ok {
			addr = ua.IP.String()
		}
		e := v1alpha1.DiscoveredEntity{Address: addr, LogicalAddress: int32(f.LogicalAddress),
			VIN: vinText(f.VIN), EID: macText(f.EID), GID: macText(f.GID), LastSeen: now}
		rp.found[discoveredKey(e)] = e
	}
	rp.ageOutLocked(now.Time)
	rp.mu.Unlock()
	rp.wakeStatus()
	return nil
}

// ageOutLocked forgets entities silent for discoverAgeOut rounds; rp.mu is held.
func (rp *reporter) ageOutLocked(now time.Time) {
	for k, e := range rp.found {
		if now.Sub(e.LastSeen.Time) > discoverAgeOut*rp.opts.DiscoverInterval {
			delete(rp.found, k)
		}
	}
}

// discovered lists the entities found, sorted by address and logical address.
func (rp *reporter) discovered() []v1alpha1.DiscoveredEntity {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if rp.opts.DiscoverInterface == "" {
		return nil
	}
	rp.ageOutLocked(time.Now())
	out := make([]v1alpha1.DiscoveredEntity, 0, len(rp.found))
	for _, e := range rp.found {
		out = append(out, e)
	}
	slices.SortFunc(out, func(x, y v1alpha1.DiscoveredEntity) int { return strings.Compare(discoveredKey(x), discoveredKey(y)) })
	return out
}

// seedDiscovered keeps what an earlier run of the agent found, so a restart does not empty the
// list until those entities age out.
func (rp *reporter) seedDiscovered(prev []v1alpha1.DiscoveredEntity) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	for _, e := range prev {
		rp.found[discoveredKey(e)] = e
	}
}

// discoveredKey dedupes entities: one per address and logical address (a gateway announces
// each ECU behind it with its own logical address).
func discoveredKey(e v1alpha1.DiscoveredEntity) string {
	return fmt.Sprintf("%s/%05d", e.Address, e.LogicalAddress)
}

// interfaceBroadcast returns the first IPv4 address of the interface and its subnet's
// broadcast address.
func interfaceBroadcast(name string) (net.IP, net.IP, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return nil, nil, fmt.Errorf("discovery interface %q: %w (list interfaces with `ip -br addr`)", name, err)
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return nil, nil, fmt.Errorf("addresses of discovery interface %q: %w", name, err)
	}
	for _, addr := range addrs {
		ipn, ok := addr.(*net.IPNet)
		if !ok {
			continue
		}
		ip := ipn.IP.To4()
		if ip == nil {
			continue
		}
		mask := net.IP(ipn.Mask)
		if len(mask) == net.IPv6len {
			mask = mask[12:]
		}
		bcast := make(net.IP, net.IPv4len)
		for i := range bcast {
			bcast[i] = ip[i] | ^mask[i]
		}
		return ip, bcast, nil
	}
	return nil, nil, fmt.Errorf("discovery interface %q has no IPv4 address: give it one to broadcast from", name)
}
