package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ecufleet/ecufleet/internal/proctest"
)

var _ = Describe("ecufleet dev killed with SIGKILL", func() {
	It("leaves no etcd or kube-apiserver running, and the next ecufleet dev starts in its place", func(ctx SpecContext) {
		kc := filepath.Join(ps.Dir, "orphans", "kubeconfig")
		devArgs := []string{"dev", "--agents", "0", "--sims", "0", "--no-controller", "--kubeconfig-out", kc, "--log-file", "-"}

		By("starting a second control plane of its own")
		dev := ps.start("dev-orphans", syscall.SIGKILL, devArgs...)
		waitForLog(ctx, dev, "Local control plane ready")
		children := controlPlaneChildren(dev.Pid())
		Expect(children).To(HaveLen(2), "etcd and kube-apiserver, children of ecufleet dev (pid %d)", dev.Pid())
		pids, err := os.ReadFile(kc + ".pids")
		Expect(err).NotTo(HaveOccurred())
		for pid := range children {
			Expect(string(pids)).To(ContainSubstring(fmt.Sprintf("child %d ", pid)), "the pid file records every child")
		}

		By("SIGKILLing ecufleet dev: the kernel kills its children (parent-death signal)")
		kill(dev)
		Eventually(ctx, func() []string {
			var left []string
			for pid, name := range children {
				if running(pid, name) {
					left = append(left, fmt.Sprintf("%s (pid %d)", name, pid))
				}
			}
			return left
		}).WithTimeout(10*time.Second).Should(BeEmpty(), "control plane processes outliving ecufleet dev")

		By("starting ecufleet dev again on the same kubeconfig: the dead one's pid file does not stop it")
		again := ps.start("dev-orphans", syscall.SIGTERM, devArgs...)
		waitForLog(ctx, again, "Local control plane ready")
		Expect(again.Stop(time.Minute)).To(BeTrue(), "ecufleet dev did not stop on SIGTERM:\n%s", proctest.Tail(again.Log, 20))
		Expect(again.Err()).NotTo(HaveOccurred(), "ecufleet dev exit:\n%s", proctest.Tail(again.Log, 20))
		Expect(kc + ".pids").NotTo(BeAnExistingFile())
		Expect(kc).NotTo(BeAnExistingFile())
	})
})

// controlPlaneChildren lists the etcd and kube-apiserver processes whose parent is pid, by
// their command name in /proc.
func controlPlaneChildren(parent int) map[int]string {
	GinkgoHelper()
	entries, err := os.ReadDir("/proc")
	Expect(err).NotTo(HaveOccurred())
	out := map[int]string{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		name, ppid, _, ok := procStat(pid)
		if ok && ppid == parent && (name == "etcd" || name == "kube-apiserver") {
			out[pid] = name
		}
	}
	return out
}

// running reports whether pid is still the process called name and has not exited (a zombie
// waiting to be reaped has).
func running(pid int, name string) bool {
	got, _, state, ok := procStat(pid)
	return ok && got == name && state != "Z"
}

// procStat reads the command name, parent pid and state of pid from /proc/PID/stat.
func procStat(pid int) (name string, ppid int, state string, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", 0, "", false
	}
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return "", 0, "", false
	}
	fields := strings.Fields(string(b[end+1:]))
	if len(fields) < 2 {
		return "", 0, "", false
	}
	ppid, err = strconv.Atoi(fields[1])
	return string(b[open+1 : end]), ppid, fields[0], err == nil
}
