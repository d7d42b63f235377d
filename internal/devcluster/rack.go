package devcluster

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/pkg/ecusim"
)

// AnnotationSim on a rack ECU names its simulator (sims/<name>.yaml), so that the demo knows
// which port to point the ECU at.
const AnnotationSim = diagv1.GroupName + "/demo-sim"

// rackSimsDir holds the simulator configs of a rack, apart from the Kubernetes objects so that
// `kubectl apply -k` never sees them.
const rackSimsDir = "sims"

// maxRackFileBytes bounds one rack file: samples are small, and a huge file is a mistake.
const maxRackFileBytes = 1 << 20

// Rack is simulated ECUs and the ECU, DiagnosticJob and ConfigMap objects that use them: the
// demo's, read from config/samples.
type Rack struct {
	// Sims are the simulator configs by name (their file name under sims/ without .yaml).
	Sims map[string]ecusim.Config
	// ECUs are the ECU objects in file order.
	ECUs []*diagv1.ECU
	// Jobs are the DiagnosticJobs in file order, which is the order they are created in: it
	// decides queue order between jobs of equal priority.
	Jobs []*diagv1.DiagnosticJob
	// ConfigMaps hold the images the jobs' download steps flash; they are created before the jobs.
	ConfigMaps []*corev1.ConfigMap
	// ecuObjs, jobObjs and cmObjs are ECUs and Jobs as written, which is what the demo creates: a Go
	// struct would send zero values (statusMask: 0) for fields the samples leave to the API
	// server's defaults (0xFF).
	ecuObjs, jobObjs, cmObjs []*unstructured.Unstructured
	// expect holds the parsed demo expectation of every job, by name.
	expect map[string]expectation
}

// LoadRack reads a rack: every *.yaml at the top of fsys (but kustomization.yaml) holds ECUs,
// DiagnosticJobs and ConfigMaps (the images of download steps), every sims/*.yaml a simulator
// config. Misspelt fields, ECUs without a simulator, jobs without a demo expectation and
// references to unknown names (ECUs, ConfigMap keys) are errors that name the file and the object.
func LoadRack(fsys fs.FS) (*Rack, error) {
	r := &Rack{Sims: map[string]ecusim.Config{}, expect: map[string]expectation{}}
	sims, err := fs.Glob(fsys, rackSimsDir+"/*.yaml")
	if err != nil {
		return nil, err
	}
	for _, file := range sims {
		data, err := readRackFile(fsys, file)
		if err != nil {
			return nil, err
		}
		cfg, err := ecusim.ParseConfig(data, file)
		if err != nil {
			return nil, err
		}
		r.Sims[strings.TrimSuffix(path.Base(file), ".yaml")] = cfg
	}
	files, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, err
	}
	for _, file := range files {
		if file == "kustomization.yaml" {
			continue
		}
		if err := r.loadObjects(fsys, file); err != nil {
			return nil, err
		}
	}
	if len(r.Jobs) == 0 {
		return nil, errors.New("rack: no DiagnosticJob found: a rack needs *.yaml files with ECUs and jobs next to sims/")
	}
	return r, r.check()
}

func readRackFile(fsys fs.FS, file string) ([]byte, error) {
	f, err := fsys.Open(file)
	if err != nil {
		return nil, fmt.Errorf("rack: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxRackFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("rack: reading %s: %w", file, err)
	}
	if len(data) > maxRackFileBytes {
		return nil, fmt.Errorf("rack: %s is larger than %d bytes", file, maxRackFileBytes)
	}
	return data, nil
}

// loadObjects decodes every YAML document of file strictly into its ecufleet type.
func (r *Rack) loadObjects(fsys fs.FS, file string) error {
	data, err := readRackFile(fsys, file)
	if err != nil {
		return err
	}
	docs := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for n := 1; ; n++ {
		doc, err := docs.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("rack: %s: %w", file, err)
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			return fmt.Errorf("rack: %s document %d: %w", file, n, err)
		}
		if tm == (metav1.TypeMeta{}) {
			continue // only comments
		}
		want := diagv1.GroupVersion.String()
		if tm.Kind == "ConfigMap" {
			want = corev1.SchemeGroupVersion.String()
		}
		if tm.APIVersion != want {
			return fmt.Errorf("rack: %s document %d: apiVersion %q: want %s", file, n, tm.APIVersion, want)
		}
		raw := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(doc, &raw.Object); err != nil {
			return fmt.Errorf("rack: %s document %d: %w", file, n, err)
		}
		var obj interface{ GetName() string }
		switch tm.Kind {
		case "ECU":
			ecu := &diagv1.ECU{}
			obj, r.ECUs, r.ecuObjs = ecu, append(r.ECUs, ecu), append(r.ecuObjs, raw)
		case "DiagnosticJob":
			job := &diagv1.DiagnosticJob{}
			obj, r.Jobs, r.jobObjs = job, append(r.Jobs, job), append(r.jobObjs, raw)
		case "ConfigMap":
			cm := &corev1.ConfigMap{}
			obj, r.ConfigMaps, r.cmObjs = cm, append(r.ConfigMaps, cm), append(r.cmObjs, raw)
		default:
			return fmt.Errorf("rack: %s document %d: kind %q: a rack holds only ECUs, DiagnosticJobs and ConfigMaps", file, n, tm.Kind)
		}
		// Strict decoding catches a misspelt field, which the API server would silently drop.
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			return fmt.Errorf("rack: %s document %d (%s): %w", file, n, tm.Kind, err)
		}
		if obj.GetName() == "" {
			return fmt.Errorf("rack: %s document %d (%s): metadata.name is empty", file, n, tm.Kind)
		}
	}
}

// check ties the rack together: unique names, every ECU served by its simulator at the port
// the simulator config listens on, every job with a valid expectation about known names.
func (r *Rack) check() error {
	ecus := map[string]*diagv1.ECU{}
	for _, e := range r.ECUs {
		if ecus[e.Name] != nil {
			return fmt.Errorf("rack: ECU %s is defined twice", e.Name)
		}
		ecus[e.Name] = e
		if err := r.checkECU(e); err != nil {
			return fmt.Errorf("rack: ECU %s: %w", e.Name, err)
		}
	}
	cms := map[string]*corev1.ConfigMap{}
	for _, cm := range r.ConfigMaps {
		if cms[cm.Name] != nil {
			return fmt.Errorf("rack: ConfigMap %s is defined twice", cm.Name)
		}
		cms[cm.Name] = cm
	}
	for _, j := range r.Jobs {
		if _, dup := r.expect[j.Name]; dup {
			return fmt.Errorf("rack: DiagnosticJob %s is defined twice", j.Name)
		}
		if j.Spec.ECURef != nil && ecus[j.Spec.ECURef.Name] == nil {
			return fmt.Errorf("rack: DiagnosticJob %s: spec.ecuRef names ECU %s, which the rack does not define", j.Name, j.Spec.ECURef.Name)
		}
		if err := checkImages(j, cms); err != nil {
			return fmt.Errorf("rack: DiagnosticJob %s: %w", j.Name, err)
		}
		e, err := parseExpectation(j)
		if err != nil {
			return fmt.Errorf("rack: DiagnosticJob %s: %w", j.Name, err)
		}
		r.expect[j.Name] = e
	}
	for name, e := range r.expect {
		if _, ok := r.expect[e.finishesBefore]; e.finishesBefore != "" && !ok {
			return fmt.Errorf("rack: DiagnosticJob %s: %s names job %s, which the rack does not define", name, AnnotationFinishesBefore, e.finishesBefore)
		}
	}
	return nil
}

// checkECU verifies that the ECU's simulator exists, serves its logical address and listens on
// its port, so that the samples also work with simulators started by hand.
func (r *Rack) checkECU(e *diagv1.ECU) error {
	name := e.Annotations[AnnotationSim]
	if name == "" {
		return fmt.Errorf("annotation %s is missing: name the simulator (a file under sims/) that plays this ECU", AnnotationSim)
	}
	cfg, ok := r.Sims[name]
	if !ok {
		return fmt.Errorf("annotation %s names simulator %q, but sims/%s.yaml does not exist (have %s)", AnnotationSim, name, name, strings.Join(r.simNames(), ", "))
	}
	if !slices.Contains(simAddresses(cfg), uint16(e.Spec.LogicalAddress)) {
		return fmt.Errorf("spec.logicalAddress 0x%04X is not served by simulator %s", e.Spec.LogicalAddress, name)
	}
	if _, port, err := net.SplitHostPort(cfg.Listen); err == nil && e.Spec.Port != 0 && port != strconv.Itoa(int(e.Spec.Port)) {
		return fmt.Errorf("spec.port %d differs from the port of sims/%s.yaml (listen %s): the ECU would not reach its simulator outside the demo", e.Spec.Port, name, cfg.Listen)
	}
	return nil
}

// checkImages verifies that every download step's configMap image is a key of a rack ConfigMap.
func checkImages(j *diagv1.DiagnosticJob, cms map[string]*corev1.ConfigMap) error {
	for _, s := range j.Spec.Steps {
		if s.Download == nil || s.Download.Image.ConfigMap == nil {
			continue
		}
		ref := s.Download.Image.ConfigMap
		cm := cms[ref.Name]
		if cm == nil {
			return fmt.Errorf("step %s: image.configMap names ConfigMap %s, which the rack does not define", s.Name, ref.Name)
		}
		_, inBinary := cm.BinaryData[ref.Key]
		if _, inData := cm.Data[ref.Key]; !inBinary && !inData {
			return fmt.Errorf("step %s: ConfigMap %s has no key %q in binaryData", s.Name, ref.Name, ref.Key)
		}
	}
	return nil
}

// simNames lists the simulators in name order, for messages and a stable start order.
func (r *Rack) simNames() []string {
	names := make([]string, 0, len(r.Sims))
	for n := range r.Sims {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// simAddresses are the logical addresses a simulator answers: its own (default 0x00E0) and those
// of the ECUs behind it.
func simAddresses(cfg ecusim.Config) []uint16 {
	own := cfg.LogicalAddress
	if own == 0 {
		own = ecusim.DefaultLogicalAddress
	}
	out := []uint16{own}
	for _, e := range cfg.ECUs {
		out = append(out, e.LogicalAddress)
	}
	return out
}
