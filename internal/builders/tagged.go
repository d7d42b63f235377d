package builders

import (
	"fmt"
	"time"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// TaggedDID is the DID a tagged job writes its tag into: the simulator's writable repair shop
// code (10 bytes).
const TaggedDID = 0xF198

// OneSocket is the entity status of a simulated ECU with exactly one tester connected.
const OneSocket = "nodeType=Node maxSockets=4 openSockets=1 maxDataSize=4194304"

// TaggedSteps are the step names of TaggedJob, in order.
var TaggedSteps = []string{"extended", "write", "hold", "read-back", "sockets", "vin", "default"}

// TaggedJob is a job that proves it had its ECU to itself: it writes tag (10 bytes, unique to
// the job) into TaggedDID, holds the ECU, reads the value back and counts the entity's open
// TCP sockets, and reads the VIN. A second job on the same ECU at the same time would
// overwrite the value or open a socket; a job on another ECU would read another VIN.
func TaggedJob(name, namespace, ecu, vin, tag string, hold time.Duration) *JobWrapper {
	return MakeJob(name, namespace).ECU(ecu).Steps(
		SessionControl("extended", "extended"),
		WriteDID("write", TaggedDID, HexOf(tag)),
		Delay("hold", hold),
		ReadDID("read-back", TaggedDID).ExpectValue(tag),
		EntityStatus("sockets").ExpectValue(OneSocket),
		ReadDID("vin", 0xF190).ExpectValue(vin),
		SessionControl("default", "default"),
	)
}

// HexOf is the spaced hex of a string's bytes, as a step's data.
func HexOf(s string) diagv1.HexBytes { return diagv1.HexBytes(fmt.Sprintf("% X", []byte(s))) }
