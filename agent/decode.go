package agent

import (
	"github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/pkg/doip"
)

// entityInfo turns an entity status answer into the ECU status form.
func entityInfo(r *doip.EntityStatusResponse) v1alpha1.EntityInfo {
	info := v1alpha1.EntityInfo{NodeType: r.NodeType.String(), MaxSockets: int32(r.MaxSockets), OpenSockets: int32(r.OpenSockets)}
	if r.HasMaxDataSize {
		info.MaxDataSize = int64(r.MaxDataSize)
	}
	return info
}

// powerModeName is the ECU status spelling of a power mode, the one pkg/doip defines.
func powerModeName(m doip.PowerMode) string { return m.String() }

// vinText renders an announced VIN as pkg/doip spells it (unknown: empty).
func vinText(vin [17]byte) string { return doip.VINText(vin) }

// macText renders an EID or GID as "00:1A:2B:3C:4D:5E", as pkg/doip spells it.
func macText(b [6]byte) string { return doip.HardwareAddressText(b) }
