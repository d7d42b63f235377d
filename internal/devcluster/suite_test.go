package devcluster

import (
	"fmt"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	ctrl "sigs.k8s.io/controller-runtime"
)

func TestDevCluster(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "devcluster: local control plane, rack and demo")
}

var _ = BeforeSuite(func() {
	SetDefaultEventuallyTimeout(60 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	ctrl.SetLogger(testLogger())
})

// testLogger sends the components' logs to GinkgoWriter, shown only when a spec fails.
func testLogger() logr.Logger {
	return funcr.New(func(prefix, args string) { fmt.Fprintln(GinkgoWriter, prefix, args) }, funcr.Options{})
}
