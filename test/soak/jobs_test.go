package soak

import (
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/builders"
)

// The flash image: imageSize seeded random bytes at imageAddress, in ConfigMap imageConfigMap,
// sent in 1024-byte blocks (maxBlockLength 1026 counts the SID and the counter): 32 blocks.
const (
	imageConfigMap = "soak-app"
	imageKey       = "app.bin"
	imageAddress   = 0x8000
	imageSize      = 32 << 10
	imageBlock     = 1026
	// backoffLimit lets a job survive a few faults: each kill of its agent, its simulator or
	// the controller at the wrong moment may end an attempt.
	backoffLimit = 3
)

// jobKind tells the two jobs of the mix apart.
type jobKind string

const (
	kindTagged jobKind = "tagged" // builders.TaggedJob: a 2E write of a tag of its own, read back
	kindFlash  jobKind = "flash"  // the full flash sequence of docs/flashing.md
)

// created is a job the soak created.
type created struct {
	name string
	kind jobKind
	sim  *sim
	tag  string // tagged jobs: the 10-byte value written
	at   time.Time
}

// image is the flash image and what the flash job checks about it.
type image struct {
	data []byte
	crc  uint32
}

// newImage makes the image from the soak's random source.
func newImage(rng *rand.Rand) image {
	data := make([]byte, imageSize)
	for i := range data {
		data[i] = byte(rng.UintN(256))
	}
	return image{data: data, crc: crc32.ChecksumIEEE(data)}
}

// configMap holds the image for the download steps.
func (im image) configMap() *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: imageConfigMap, Namespace: namespace},
		BinaryData: map[string][]byte{imageKey: im.data}}
}

// hexBytes is b as spaced hex for a step's data.
func hexBytes(b ...byte) diagv1.HexBytes { return diagv1.HexBytes(fmt.Sprintf("% X", b)) }

// be32 is v as 4 big-endian bytes.
func be32(v uint32) []byte { return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)} }

// flashJob is the sequence of the demo rack's flash jobs (config/samples/priority.yaml):
// programming session, unlock, erase, download, CRC check, hard reset, reconnect after the
// boot time, and a read-back of the first 16 bytes with 23.
func flashJob(name string, s *sim, im image) *builders.JobWrapper {
	erase := append(be32(imageAddress), be32(imageSize)...)
	readBack := append(append([]byte{0x23, 0x44}, be32(imageAddress)...), be32(16)...)
	return builders.MakeJob(name, namespace).ECU(s.ecu).Steps(
		builders.SessionControl("programming", "programming"),
		builders.SecurityAccess("unlock", 1, "4B 78 69 1E"), // the simulator's seed 11 22 33 44 XOR 5A 5A 5A 5A
		builders.RoutineControl("erase", diagv1.RoutineStart, 0xFF00, hexBytes(erase...)).ExpectResponse("71 01 FF 00 00"),
		builders.Download("flash").FromConfigMap(imageConfigMap, imageKey).Bin(imageAddress).MaxBlockLength(imageBlock).AsStep(),
		builders.RoutineControl("check", diagv1.RoutineStart, 0x0202, hexBytes(be32(im.crc)...)).ExpectResponse("71 01 02 02 00"),
		builders.ECUReset("reset", diagv1.ECUResetHard),
		builders.Reconnect("after-boot", 1500*time.Millisecond), // the simulator boots for 1 s
		builders.Diagnostic("read-back", hexBytes(readBack...)).ExpectResponse(hexBytes(append([]byte{0x63}, im.data[:16]...)...)),
	)
}

// soakTag is the 10-byte value tagged job i writes.
func soakTag(i int) string { return fmt.Sprintf("SOAK%06d", i) }

// newJob makes the soak's job number i for s: a flash job with probability flashShare, else a
// tagged job holding the ECU 200 ms to 2 s.
func newJob(i int, s *sim, im image, rng *rand.Rand, flashShare float64) (created, *diagv1.DiagnosticJob) {
	c := created{sim: s, at: time.Now()}
	var w *builders.JobWrapper
	if rng.Float64() < flashShare {
		c.kind, c.name = kindFlash, fmt.Sprintf("flash-%05d", i)
		w = flashJob(c.name, s, im)
	} else {
		c.kind, c.name, c.tag = kindTagged, fmt.Sprintf("job-%05d", i), soakTag(i)
		hold := 200*time.Millisecond + time.Duration(rng.Int64N(int64(1800*time.Millisecond)))
		w = builders.TaggedJob(c.name, namespace, s.ecu, s.vin, c.tag, hold.Round(time.Millisecond))
	}
	return c, w.BackoffLimit(backoffLimit).Obj()
}
