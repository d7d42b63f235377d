package agent

import (
	"fmt"
	"strings"

	"github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/pkg/doip"
)

// entityInfo turns an entity status answer into the ECU status form.
func entityInfo(r *doip.EntityStatusResponse) v1alpha1.EntityInfo {
	info := v1alpha1.EntityInfo{MaxSockets: int32(r.MaxSockets), OpenSockets: int32(r.OpenSockets)}
	switch r.NodeType {
	case doip.NodeGateway:
		info.NodeType = "Gateway"
	case doip.NodeNode:
		info.NodeType = "Node"
	default:
		info.NodeType = fmt.Sprintf("0x%02X", byte(r.NodeType))
	}
	if r.HasMaxDataSize {
		info.MaxDataSize = int64(r.MaxDataSize)
	}
	return info
}

// powerModeName is the ECU status spelling of a power mode (NotReady, Ready, NotSupported).
func powerModeName(m doip.PowerMode) string {
	switch m {
	case doip.PowerModeNotReady:
		return "NotReady"
	case doip.PowerModeReady:
		return "Ready"
	case doip.PowerModeNotSupported:
		return "NotSupported"
	}
	return fmt.Sprintf("0x%02X", byte(m))
}

// vinText renders an announced VIN; entities that do not know theirs send zeros or 0xFF, which
// become an empty string rather than control characters in status.
func vinText(vin [17]byte) string {
	s := strings.TrimRight(string(vin[:]), "\x00\xff ")
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7E {
			return fmt.Sprintf("% X", vin[:])
		}
	}
	return s
}

// macText renders an EID or GID as "00:1A:2B:3C:4D:5E", the form used in status.
func macText(b [6]byte) string {
	return fmt.Sprintf("%02X:%02X:%02X:%02X:%02X:%02X", b[0], b[1], b[2], b[3], b[4], b[5])
}
