package agent_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ecufleet/ecufleet/agent"
	"github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/builders"
	"github.com/ecufleet/ecufleet/internal/ocitest"
	"github.com/ecufleet/ecufleet/pkg/doip"
	"github.com/ecufleet/ecufleet/pkg/ecusim"
	"github.com/ecufleet/ecufleet/pkg/flashimage"
	"github.com/ecufleet/ecufleet/pkg/uds"
)

// simKey is the default simulator's level 1 key: its seed 11 22 33 44 XOR 5A 5A 5A 5A.
const simKey = "4B 78 69 1E"

// flashAddress is where the test images go, inside the simulator's default 16 MiB region.
const flashAddress = 0x00010000

// pattern is n bytes of a pattern that differs from the erased 0xFF and from a shifted copy.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}

// ihexFile writes data at addr as Intel HEX.
func ihexFile(addr uint32, data []byte) []byte {
	im := &flashimage.Image{Segments: []flashimage.Segment{{Address: addr, Data: data}}}
	file, err := im.MarshalIHex(32)
	Expect(err).NotTo(HaveOccurred())
	return file
}

func hexOf(b []byte) v1alpha1.HexBytes { return v1alpha1.HexBytes(uds.FormatHex(b)) }

func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// flashSequence is the full flash of data at addr around the download step dl: programming
// session, unlock, erase, download, the CRC check routine answering 00, and a read-back of the
// first 16 bytes with 23.
func flashSequence(dl *builders.StepWrapper, addr uint32, data []byte) []*builders.StepWrapper {
	im := &flashimage.Image{Segments: []flashimage.Segment{{Address: addr, Data: data}}}
	return []*builders.StepWrapper{
		builders.SessionControl("programming", "programming"),
		builders.SecurityAccess("unlock", 1, simKey),
		builders.RoutineControl("erase", v1alpha1.RoutineStart, ecusim.DefaultEraseRoutine,
			hexOf(append(be32(addr), be32(uint32(len(data)))...))).ExpectResponse("71 01 FF 00 00"),
		dl,
		builders.RoutineControl("check", v1alpha1.RoutineStart, ecusim.DefaultCheckRoutine, hexOf(be32(im.CRC32()))).
			ExpectResponse("71 01 02 02 00"),
		builders.Diagnostic("read-back", hexOf(append(append([]byte{0x23, 0x44}, be32(addr)...), be32(16)...))).
			ExpectResponse(hexOf(append([]byte{0x63}, data[:16]...))),
	}
}

// readMemory reads the simulator's memory with 23 over a tester connection of its own.
func readMemory(port int32, addr uint32, n uint32) []byte {
	c := doip.Client{}
	conn, err := c.Dial(suiteCtx, fmt.Sprintf("127.0.0.1:%d", port))
	Expect(err).NotTo(HaveOccurred())
	defer conn.Close()
	resp, err := uds.NewClient(conn, ecusim.DefaultLogicalAddress).Request(suiteCtx, append(append([]byte{0x23, 0x44}, be32(addr)...), be32(n)...))
	Expect(err).NotTo(HaveOccurred())
	Expect(resp[0]).To(Equal(byte(0x63)))
	return resp[1:]
}

// fileServer serves body at /app.hex over HTTP on 127.0.0.1.
func fileServer(body []byte) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/app.hex" {
			http.NotFound(w, r)
			return
		}
		w.Write(body)
	}))
	DeferCleanup(srv.Close)
	return srv
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// allErased says every byte reads as erased flash.
func allErased(b []byte) bool {
	for _, x := range b {
		if x != 0xFF {
			return false
		}
	}
	return true
}

var _ = Describe("Download steps", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	// flashRig runs an agent with an image cache of the spec's own and a simulator with cfg
	// behind a Ready ECU "ecu" that only this agent serves.
	flashRig := func(cfg ecusim.Config) (*ecusim.Sim, int32) {
		selector, dir := map[string]string{"rack": ns}, GinkgoT().TempDir()
		startAgent(ns+"-a", selector, func(o *agent.Options) { o.ImageCacheDir = dir })
		sim, port := startSim(cfg)
		createReadyECU(builders.MakeECU("ecu", ns).Port(port).AgentSelector(selector).ProbeTiming(1, 1, 2).Obj())
		return sim, port
	}
	configMap := func(name, key string, data []byte) {
		Expect(k8s.Create(suiteCtx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			BinaryData: map[string][]byte{key: data}})).To(Succeed())
	}
	// expectFlashed checks a passed flash job: every step passed, the transfer complete, the
	// request summarised, the memory holding data.
	expectFlashed := func(done *v1alpha1.DiagnosticJob, port int32, data []byte, blocks int64) {
		for _, s := range done.Status.Steps {
			Expect(s.Phase).To(Equal(v1alpha1.StepPassed), "step %s: %s", s.Name, s.Message)
		}
		flash := stepOf(done, "flash")
		Expect(flash.Transfer).NotTo(BeNil())
		Expect(flash.Transfer.Bytes).To(BeEquivalentTo(len(data)))
		Expect(flash.Transfer.TotalBytes).To(BeEquivalentTo(len(data)))
		Expect(flash.Transfer.Blocks).To(Equal(blocks))
		Expect(flash.Transfer.BytesPerSecond).To(BeNumerically(">", 0))
		Expect(flash.Request).To(HavePrefix("34 00 "))
		Expect(flash.Request).To(HaveSuffix(fmt.Sprintf(" ... (%d blocks)", blocks)))
		Expect(flash.Response).To(Equal("77"))
		Expect(flash.Value).To(Equal(fmt.Sprintf("%d bytes in %d blocks", len(data), blocks)))
		Expect(flash.Message).To(ContainSubstring("sha256:" + sha256Hex(ihexFile(flashAddress, data))))
		Expect(readMemory(port, flashAddress, uint32(min(len(data), 0x10000)))).To(Equal(data[:min(len(data), 0x10000)]))
	}

	It("flashes a 1 MiB Intel HEX image from an HTTP server, the block counter wrapping after 0xFF", func() {
		sim, port := flashRig(ecusim.Config{})
		data := pattern(1 << 20)
		file := ihexFile(flashAddress, data)
		srv := fileServer(file)

		dl := builders.Download("flash").FromHTTP(srv.URL+"/app.hex", sha256Hex(file)).AddressAndLengthFormat(0x44).AsStep()
		job := builders.MakeJob("flash-http", ns).ECU("ecu").Steps(flashSequence(dl, flashAddress, data)...).Obj()
		Expect(k8s.Create(suiteCtx, job)).To(Succeed())
		done := waitPhase(job, v1alpha1.JobSucceeded)
		// 1 MiB in blocks of 4088 bytes: 257 blocks, counters 01..FF, 00, 01.
		expectFlashed(done, port, data, 257)
		Expect(stepOf(done, "flash").Request).To(Equal("34 00 44 00 01 00 00 00 10 00 00 ... (257 blocks)"))
		Expect(sim.RequestCount(0x36)).To(Equal(257))
		flash := stepOf(done, "flash")
		AddReportEntry("1 MiB download step", fmt.Sprintf("%d ms, %d bytes/s", flash.DurationMillis, flash.Transfer.BytesPerSecond))
		Expect(readMemory(port, flashAddress+1<<20-0x1000, 0x1000)).To(Equal(data[1<<20-0x1000:]))
	})

	It("keeps a 8 MiB flash job's trace within 900 KiB: TransferData trimmed, every frame counted", func() {
		_, port := flashRig(ecusim.Config{})
		data := pattern(8 << 20)
		srv := fileServer(data)
		dl := builders.Download("flash").FromHTTP(srv.URL+"/app.hex", sha256Hex(data)).Bin(flashAddress).AsStep() // the server names every file app.hex
		job := builders.MakeJob("flash-traced", ns).ECU("ecu").Trace(v1alpha1.TraceAlways).
			Steps(flashSequence(dl, flashAddress, data)...).Obj()
		Expect(k8s.Create(suiteCtx, job)).To(Succeed())
		done := waitPhase(job, v1alpha1.JobSucceeded)
		blocks := stepOf(done, "flash").Transfer.Blocks
		Expect(readMemory(port, flashAddress, 16)).To(Equal(data[:16]))

		cm, tf := storedTrace(done)
		st := done.Status.Trace
		Expect(st).NotTo(BeNil())
		Expect(st.Bytes).To(BeNumerically("<=", agent.TraceMaxBytes))
		Expect(st.Bytes).To(BeEquivalentTo(len(cm.BinaryData[agent.TraceKey])))
		// Each block is a request, its ACK and its answer; the other steps add a few more.
		Expect(st.Frames).To(BeNumerically(">=", 3*blocks))
		trimmed := 0
		for _, p := range tf.packets {
			for _, c := range p.comments {
				if strings.HasPrefix(c, "TransferData trimmed for the trace: 64 of ") {
					trimmed++
				}
			}
		}
		if st.Truncated {
			Expect(trimmed).To(BeNumerically(">", 0))
		} else {
			// Every block of more than 64 data bytes: all but the last, of 8 MiB % 4088 = 32 bytes.
			per := ecusim.DefaultMaxNumberOfBlockLength - 2
			long := len(data) / per
			if len(data)%per > 64 {
				long++
			}
			Expect(int64(long)).To(BeNumerically(">=", blocks-1))
			Expect(trimmed).To(Equal(long), "every 36 block of the job is in the trace, trimmed")
		}
		AddReportEntry("8 MiB flash trace", fmt.Sprintf("%d frames, %d bytes of gzip, truncated %v", st.Frames, st.Bytes, st.Truncated))
	})

	It("retries a flash whose connection dropped mid-transfer from its first step, never resuming it", func() {
		sim, port := flashRig(ecusim.Config{})
		data := pattern(1 << 20)
		file := ihexFile(flashAddress, data)
		srv := fileServer(file)
		Expect(sim.DropConnection(0x36, 100, ecusim.DropAfterACK)).To(Succeed())

		dl := builders.Download("flash").FromHTTP(srv.URL+"/app.hex", sha256Hex(file)).AsStep()
		job := builders.MakeJob("flash-dropped", ns).ECU("ecu").BackoffLimit(1).Steps(flashSequence(dl, flashAddress, data)...).Obj()
		Expect(k8s.Create(suiteCtx, job)).To(Succeed())
		done := waitPhase(job, v1alpha1.JobSucceeded)

		Expect(sim.DropsInjected()).To(BeEquivalentTo(1))
		Expect(done.Status.Attempts).To(BeEquivalentTo(2), "the drop ended attempt 1; attempt 2 flashed")
		// Attempt 2 ran the whole sequence again (session, erase, 34 from block 1) and its CRC
		// check passed: the image is intact. Nothing resumed at block 100.
		Expect(sim.RequestCount(0x10)).To(Equal(2))
		Expect(sim.RequestCount(0x34)).To(Equal(2))
		Expect(sim.RequestCount(0x36)).To(Equal(100 + 257))
		expectFlashed(done, port, data, 257)
		Eventually(func(g Gomega) {
			var list eventsv1.EventList
			g.Expect(k8s.List(suiteCtx, &list, client.InNamespace(ns))).To(Succeed())
			notes := []string{}
			for _, e := range list.Items {
				if e.Regarding.Name == job.Name && e.Reason == v1alpha1.ReasonConnectionLost {
					notes = append(notes, e.Note)
				}
			}
			g.Expect(notes).To(ContainElement(And(ContainSubstring("lost during a download"),
				ContainSubstring("block 99 (counter 0x64, offset 404712)"))))
		}).Should(Succeed())
	})

	It("retries a flash whose agent was lost mid-transfer on another agent, from the first step", func() {
		selector, dir := map[string]string{"rack": ns}, GinkgoT().TempDir()
		agents := map[string]*runningAgent{
			ns + "-a": startAgent(ns+"-a", selector, func(o *agent.Options) { o.ImageCacheDir = dir + "/a" }),
			ns + "-b": startAgent(ns+"-b", selector, func(o *agent.Options) { o.ImageCacheDir = dir + "/b" }),
		}
		// 20 ms per block: 257 blocks take five seconds, time to lose the agent on the way.
		sim, port := startSim(ecusim.Config{UDS: ecusim.UDS{Flash: ecusim.Flash{BlockDelay: "20ms"}}})
		createReadyECU(builders.MakeECU("ecu", ns).Port(port).AgentSelector(selector).ProbeTiming(1, 1, 2).Obj())
		data := pattern(1 << 20)
		file := ihexFile(flashAddress, data)
		srv := fileServer(file)

		dl := builders.Download("flash").FromHTTP(srv.URL+"/app.hex", sha256Hex(file)).AsStep()
		job := builders.MakeJob("flash-agent-lost", ns).ECU("ecu").BackoffLimit(1).Steps(flashSequence(dl, flashAddress, data)...).Obj()
		history := watchJob(ns, job.Name)
		Expect(k8s.Create(suiteCtx, job)).To(Succeed())
		running := waitStepRunning(job, "flash")
		Eventually(func() int { return sim.RequestCount(0x36) }).Should(BeNumerically(">=", 20), "the transfer is under way")
		first := running.Status.Agent
		agents[first].stop()

		lost := history.eventuallyRecords(v1alpha1.JobQueued, v1alpha1.ReasonAgentLost)
		Expect(lost.Message).To(ContainSubstring(first))
		done := waitPhase(job, v1alpha1.JobSucceeded)
		Expect(done.Status.Agent).NotTo(Equal(first))
		Expect(done.Status.Attempts).To(BeEquivalentTo(2))
		// Attempt 2 started over (session, erase, a new 34) and its CRC check passed.
		Expect(sim.RequestCount(0x34)).To(Equal(2))
		expectFlashed(done, port, data, 257)
	})

	It("flashes from an OCI artifact with a pull secret, and from the cache the second time", func() {
		_, port := flashRig(ecusim.Config{})
		reg := ocitest.NewRegistry("lab", "s3cret")
		DeferCleanup(reg.Close)
		data := pattern(6000)
		file := ihexFile(flashAddress, data)
		_, err := reg.Push(suiteCtx, "ecu/app:1.2", ocitest.File{Title: "app.hex", MediaType: "application/vnd.ecufleet.image.ihex", Data: file})
		Expect(err).NotTo(HaveOccurred())
		auth := base64.StdEncoding.EncodeToString([]byte("lab:s3cret"))
		Expect(k8s.Create(suiteCtx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "regcred", Namespace: ns},
			Type: corev1.SecretTypeDockerConfigJson,
			Data: map[string][]byte{corev1.DockerConfigJsonKey: fmt.Appendf(nil, `{"auths":{%q:{"auth":%q}}}`, reg.Host(), auth)}})).To(Succeed())

		for i, name := range []string{"flash-oci", "flash-oci-again"} {
			dl := builders.Download("flash").FromOCI(reg.Host()+"/ecu/app:1.2", "regcred").AsStep()
			job := builders.MakeJob(name, ns).ECU("ecu").Steps(flashSequence(dl, flashAddress, data)...).Obj()
			Expect(k8s.Create(suiteCtx, job)).To(Succeed())
			done := waitPhase(job, v1alpha1.JobSucceeded)
			expectFlashed(done, port, data, 2)
			Expect(strings.HasSuffix(stepOf(done, "flash").Message, "from the cache")).To(Equal(i == 1), stepOf(done, "flash").Message)
		}
		Expect(reg.BlobGets.Load()).To(BeEquivalentTo(1), "the layer is downloaded once, then read from the cache")
	})

	It("flashes an Intel HEX image from a ConfigMap", func() {
		sim, port := flashRig(ecusim.Config{})
		data := pattern(10000)
		file := ihexFile(flashAddress, data)
		configMap("app-image", "app.hex", file)

		dl := builders.Download("flash").FromConfigMap("app-image", "app.hex").AsStep()
		job := builders.MakeJob("flash-configmap", ns).ECU("ecu").Steps(flashSequence(dl, flashAddress, data)...).Obj()
		Expect(k8s.Create(suiteCtx, job)).To(Succeed())
		done := waitPhase(job, v1alpha1.JobSucceeded)
		expectFlashed(done, port, data, 3) // 4088 + 4088 + 1824 bytes
		Expect(stepOf(done, "flash").Request).To(Equal("34 00 23 01 00 00 27 10 ... (3 blocks)"), "the smallest identifier that fits")
		Expect(sim.RequestCount(0x36)).To(Equal(3))
	})

	It("writes an S-record image of two segments with one 34 each", func() {
		sim, port := flashRig(ecusim.Config{})
		first, second := pattern(5000), pattern(300)[100:]
		im := &flashimage.Image{Segments: []flashimage.Segment{{Address: flashAddress, Data: first}, {Address: 0x00020000, Data: second}}}
		var srec strings.Builder
		for _, s := range im.Segments {
			for off := 0; off < len(s.Data); off += 32 {
				rec := append(be32(s.Address+uint32(off)), s.Data[off:min(off+32, len(s.Data))]...)
				rec = append([]byte{byte(len(rec) + 1)}, rec...)
				sum := byte(0)
				for _, b := range rec {
					sum += b
				}
				fmt.Fprintf(&srec, "S3%X%02X\n", rec, ^sum)
			}
		}
		configMap("app-srec", "app.s37", []byte(srec.String()))

		job := builders.MakeJob("flash-segments", ns).ECU("ecu").Steps(
			builders.SessionControl("programming", "programming"),
			builders.SecurityAccess("unlock", 1, simKey),
			builders.Download("flash").FromConfigMap("app-srec", "app.s37").Format(v1alpha1.ImageFormatSRec).AsStep(),
			builders.RoutineControl("check", v1alpha1.RoutineStart, ecusim.DefaultCheckRoutine, hexOf(be32(im.CRC32()))).
				ExpectResponse("71 01 02 02 00"),
		).Obj()
		Expect(k8s.Create(suiteCtx, job)).To(Succeed())
		done := waitPhase(job, v1alpha1.JobSucceeded)
		flash := stepOf(done, "flash")
		Expect(flash.Request).To(Equal("34 00 23 01 00 00 13 88 ... (2 segments, 3 blocks)"))
		Expect(flash.Value).To(Equal("5200 bytes in 3 blocks, 2 segments"))
		Expect(flash.Transfer.TotalBytes).To(BeEquivalentTo(5200))
		Expect(sim.RequestCount(0x34)).To(Equal(2))
		Expect(sim.RequestCount(0x37)).To(Equal(2))
		Expect(readMemory(port, 0x00020000, 200)).To(Equal(second))
	})

	It("caps blocks with maxBlockLength: a bin image of 313 blocks, written at most every 2 s", func() {
		sim, port := flashRig(ecusim.Config{UDS: ecusim.UDS{Flash: ecusim.Flash{BlockDelay: "15ms"}}})
		data := pattern(5000)
		configMap("app-bin", "app.bin", data)

		dl := builders.Download("flash").FromConfigMap("app-bin", "app.bin").Bin(flashAddress).MaxBlockLength(18).AsStep()
		im := &flashimage.Image{Segments: []flashimage.Segment{{Address: flashAddress, Data: data}}}
		job := builders.MakeJob("flash-bin", ns).ECU("ecu").Steps(
			builders.SessionControl("programming", "programming"),
			builders.SecurityAccess("unlock", 1, simKey),
			dl,
			builders.RoutineControl("check", v1alpha1.RoutineStart, ecusim.DefaultCheckRoutine, hexOf(be32(im.CRC32()))).
				ExpectResponse("71 01 02 02 00"),
		).Obj()
		history := watchJob(ns, job.Name)
		Expect(k8s.Create(suiteCtx, job)).To(Succeed())
		done := waitPhase(job, v1alpha1.JobSucceeded)
		flash := stepOf(done, "flash")
		Expect(flash.Phase).To(Equal(v1alpha1.StepPassed), flash.Message)
		// 16 data bytes per block (18 less SID and counter): 313 blocks, the counter wrapping once.
		Expect(flash.Transfer.Blocks).To(BeEquivalentTo(313))
		Expect(sim.RequestCount(0x36)).To(Equal(313))
		Expect(readMemory(port, flashAddress, 5000)).To(Equal(data))

		// 313 blocks of 15 ms take about 5 s: a write every 2 s, never one per block.
		history.mu.Lock()
		defer history.mu.Unlock()
		writes, percent, seen := 0, "", int64(0)
		for _, st := range history.states {
			for _, s := range st.Steps {
				if s.Name == "flash" && s.Phase == v1alpha1.StepRunning && s.Transfer != nil && s.Transfer.Bytes > 0 {
					writes++
					percent = st.Progress
					Expect(s.Transfer.Bytes).To(BeNumerically(">", seen), "each progress write carries the bytes so far")
					Expect(st.Progress).To(HaveSuffix(fmt.Sprintf(" flash %d%%", s.Transfer.Bytes*100/s.Transfer.TotalBytes)))
					seen = s.Transfer.Bytes
				}
			}
		}
		maxWrites := int(flash.DurationMillis/2000) + 1
		Expect(writes).To(And(BeNumerically(">=", 1), BeNumerically("<=", maxWrites)),
			"%d progress writes during a download of %d ms", writes, flash.DurationMillis)
		Expect(percent).To(MatchRegexp(`^2/4 flash [1-9][0-9]?%$`))
	})

	// Progress writes run between two blocks: an API server that stops answering must not hold
	// the flash (and the ECU, whose session times out) until it answers again.
	It("flashes on while the API server holds the progress writes, and reports once it answers", func() {
		var api statusStall
		selector, dir := map[string]string{"rack": ns}, GinkgoT().TempDir()
		startAgentOn(api.config(cfg), ns+"-a", selector, func(o *agent.Options) { o.ImageCacheDir = dir })
		sim, port := startSim(ecusim.Config{UDS: ecusim.UDS{Flash: ecusim.Flash{BlockDelay: "15ms"}}})
		createReadyECU(builders.MakeECU("ecu", ns).Port(port).AgentSelector(selector).ProbeTiming(1, 1, 2).Obj())
		data := pattern(5000)
		configMap("app-bin", "app.bin", data)
		job := builders.MakeJob("flash-stalled", ns).ECU("ecu").Steps(
			builders.SessionControl("programming", "programming"),
			builders.SecurityAccess("unlock", 1, simKey),
			builders.Download("flash").FromConfigMap("app-bin", "app.bin").Bin(flashAddress).MaxBlockLength(18).AsStep(),
		).Obj()
		Expect(k8s.Create(suiteCtx, job)).To(Succeed())
		// 313 blocks of 15 ms: stall the API server once the first blocks are on the wire.
		Eventually(func() int { return sim.RequestCount(0x36) }).WithTimeout(waitTimeout).Should(BeNumerically(">=", 20))
		api.stall()
		DeferCleanup(api.release)
		Eventually(func() int { return sim.RequestCount(0x36) }).WithTimeout(15*time.Second).Should(Equal(313),
			"the flash must go on while its progress writes get no answer")
		api.release()
		done := waitPhase(job, v1alpha1.JobSucceeded)
		flash := stepOf(done, "flash")
		Expect(flash.Phase).To(Equal(v1alpha1.StepPassed), flash.Message)
		Expect(flash.Transfer.Bytes).To(BeEquivalentTo(len(data)))
		Expect(readMemory(port, flashAddress, 5000)).To(Equal(data))
	})

	It("refuses an image whose digest does not match: nothing is sent, the memory is unchanged", func() {
		sim, port := flashRig(ecusim.Config{})
		data := pattern(4000)
		file := ihexFile(flashAddress, data)
		srv := fileServer(file)
		wrong := sha256Hex(append([]byte("another "), file...))

		dl := builders.Download("flash").FromHTTP(srv.URL+"/app.hex", wrong).AsStep()
		job := builders.MakeJob("flash-mismatch", ns).ECU("ecu").Steps(flashSequence(dl, flashAddress, data)...).Obj()
		Expect(k8s.Create(suiteCtx, job)).To(Succeed())
		done := waitPhase(job, v1alpha1.JobFailed)
		Expect(done.Status.Reason).To(Equal(v1alpha1.ReasonImageInvalid))
		Expect(done.Status.Message).To(ContainSubstring("Nothing sent to the ECU"))
		flash := stepOf(done, "flash")
		Expect(flash.Phase).To(Equal(v1alpha1.StepFailed))
		Expect(flash.Message).To(ContainSubstring("sha256"))
		Expect(flash.Request).To(BeEmpty())
		Expect(stepOf(done, "check").Phase).To(Equal(v1alpha1.StepSkipped))
		Expect(sim.RequestCount(0x34)).To(BeZero())
		Expect(sim.RequestCount(0x36)).To(BeZero())
		Expect(allErased(readMemory(port, flashAddress, uint32(len(data))))).To(BeTrue(), "the memory was written")
	})

	It("refuses an image that does not parse, and retries an image that is not there yet", func() {
		sim, port := flashRig(ecusim.Config{})
		configMap("broken", "app.hex", []byte(":0100000000FE\n:00000001FF\n"))
		bad := builders.MakeJob("flash-broken", ns).ECU("ecu").Steps(
			builders.SessionControl("programming", "programming"),
			builders.Download("flash").FromConfigMap("broken", "app.hex").Format(v1alpha1.ImageFormatIHex).AsStep(),
		).Obj()
		Expect(k8s.Create(suiteCtx, bad)).To(Succeed())
		done := waitPhase(bad, v1alpha1.JobFailed)
		Expect(done.Status.Reason).To(Equal(v1alpha1.ReasonImageInvalid))
		Expect(stepOf(done, "flash").Message).To(ContainSubstring("line 1"))
		Expect(sim.RequestCount(0x34)).To(BeZero())
		Expect(allErased(readMemory(port, 0, 16))).To(BeTrue(), "the memory was written")

		data := pattern(100)
		// The controller queues an ImageUnavailable attempt again at once: the limit leaves
		// time to create the ConfigMap.
		job := builders.MakeJob("flash-later", ns).ECU("ecu").BackoffLimit(1000).Steps(
			flashSequence(builders.Download("flash").FromConfigMap("later", "app.hex").AsStep(), flashAddress, data)...).Obj()
		history := watchJob(ns, job.Name)
		Expect(k8s.Create(suiteCtx, job)).To(Succeed())
		failed := history.eventuallyRecords(v1alpha1.JobFailed, v1alpha1.ReasonImageUnavailable)
		Expect(failed.Message).To(ContainSubstring("later"))
		configMap("later", "app.hex", ihexFile(flashAddress, data))
		waitPhase(job, v1alpha1.JobSucceeded)
	})

	It("fails the step naming the NRC when the ECU refuses the download, and sends 28 and 85", func() {
		sim, port := flashRig(ecusim.Config{})
		data := pattern(100)
		configMap("app", "app.hex", ihexFile(flashAddress, data))
		job := builders.MakeJob("flash-locked", ns).ECU("ecu").Steps(
			builders.CommunicationControl("comm-off", "disableRxAndTx", 3).ContinueOnFailure(),
			builders.ControlDTCSetting("dtc-off", v1alpha1.DTCSettingOff).ContinueOnFailure(),
			builders.SessionControl("programming", "programming"),
			builders.Download("flash").FromConfigMap("app", "app.hex").AsStep(), // not unlocked
			builders.TesterPresent("never-runs"),
		).Obj()
		Expect(k8s.Create(suiteCtx, job)).To(Succeed())
		done := waitPhase(job, v1alpha1.JobFailed)
		Expect(done.Status.Reason).To(Equal(v1alpha1.ReasonStepFailed))
		Expect(stepOf(done, "comm-off").Request).To(Equal("28 03 03"))
		Expect(stepOf(done, "dtc-off").Request).To(Equal("85 02"))
		flash := stepOf(done, "flash")
		Expect(flash.Phase).To(Equal(v1alpha1.StepFailed))
		Expect(flash.NRC).To(Equal("0x33 securityAccessDenied"))
		Expect(flash.Response).To(Equal("7F 34 33"))
		Expect(flash.Message).To(And(ContainSubstring("0x33 securityAccessDenied"), ContainSubstring("download to 0x10000")))
		Expect(stepOf(done, "never-runs").Phase).To(Equal(v1alpha1.StepSkipped))
		Expect(sim.RequestCount(0x34)).To(Equal(1))
		Expect(sim.RequestCount(0x36)).To(BeZero())
		Expect(allErased(readMemory(port, flashAddress, uint32(len(data))))).To(BeTrue())
	})
})
