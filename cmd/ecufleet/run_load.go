package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// maxDocumentBytes bounds one YAML document, so a wrong file (a disk image) is refused, not read whole.
const maxDocumentBytes = 4 << 20

// loadedJob is one DiagnosticJob document with where it came from, for error messages.
type loadedJob struct {
	job   *diagv1.DiagnosticJob
	file  string
	index int // 0-based document index in file
}

// where names a document as errors should: "file jobs.yaml, document 2".
func (l loadedJob) where() string { return fmt.Sprintf("%s, document %d", l.file, l.index+1) }

// loadJobs reads every -f PATH: files, directories (*.yaml and *.yml, sorted) and "-" for
// stdin. Only DiagnosticJob documents of diag.ecufleet.io/v1alpha1 are accepted and unknown
// fields are refused, so a typo never runs a job that does less than its author meant.
func loadJobs(paths []string, stdin io.Reader) ([]loadedJob, error) {
	var files []string
	for _, p := range paths {
		if p == "-" {
			files = append(files, p)
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("-f %s: %w", p, err)
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		var inDir []string
		for _, pat := range []string{"*.yaml", "*.yml"} {
			m, err := filepath.Glob(filepath.Join(p, pat))
			if err != nil {
				return nil, fmt.Errorf("-f %s: %w", p, err)
			}
			inDir = append(inDir, m...)
		}
		sort.Strings(inDir)
		if len(inDir) == 0 {
			return nil, fmt.Errorf("-f %s: the directory has no *.yaml or *.yml file", p)
		}
		files = append(files, inDir...)
	}
	var jobs []loadedJob
	for _, f := range files {
		var r io.Reader = stdin
		name := "<stdin>"
		if f != "-" {
			fh, err := os.Open(f)
			if err != nil {
				return nil, fmt.Errorf("-f %s: %w", f, err)
			}
			defer fh.Close()
			r, name = fh, f
		}
		js, err := decodeJobs(r, name)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, js...)
	}
	if len(jobs) == 0 {
		return nil, errors.New("no DiagnosticJob document in the files given with -f")
	}
	return jobs, nil
}

// decodeJobs splits one file into YAML documents and decodes each strictly.
func decodeJobs(r io.Reader, name string) ([]loadedJob, error) {
	yr := utilyaml.NewYAMLReader(bufio.NewReaderSize(io.LimitReader(r, 64*maxDocumentBytes), 64<<10))
	var out []loadedJob
	for i := 0; ; i++ {
		doc, err := yr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s, document %d: not YAML: %w", name, i+1, err)
		}
		if len(doc) > maxDocumentBytes {
			return nil, fmt.Errorf("%s, document %d: larger than %d bytes", name, i+1, maxDocumentBytes)
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			i-- // an empty document (a leading or trailing ---) is not counted
			continue
		}
		l := loadedJob{file: name, index: i}
		j, err := decodeJob(doc)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", l.where(), err)
		}
		l.job = j
		out = append(out, l)
	}
}

// stripComments drops comment-only lines, so a document of comments counts as empty.
func stripComments(doc []byte) []byte {
	var b bytes.Buffer
	for _, line := range strings.Split(string(doc), "\n") {
		if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") && t != "---" {
			b.WriteString(line + "\n")
		}
	}
	return b.Bytes()
}

// decodeJob decodes one document as a DiagnosticJob, refusing other kinds and unknown fields.
func decodeJob(doc []byte) (*diagv1.DiagnosticJob, error) {
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, fmt.Errorf("not YAML: %w", err)
	}
	var tm struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := json.Unmarshal(js, &tm); err != nil {
		return nil, fmt.Errorf("not a Kubernetes object (want kind DiagnosticJob): %w", err)
	}
	want := diagv1.GroupVersion.String()
	if tm.Kind != "DiagnosticJob" || tm.APIVersion != want {
		return nil, fmt.Errorf("kind %q, apiVersion %q: only DiagnosticJob of %s can be run", tm.Kind, tm.APIVersion, want)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	j := &diagv1.DiagnosticJob{}
	if err := dec.Decode(j); err != nil {
		return nil, fmt.Errorf("DiagnosticJob: %w (check the field names against docs/api.md)", err)
	}
	if j.Name == "" && j.GenerateName == "" {
		return nil, errors.New("DiagnosticJob has neither metadata.name nor metadata.generateName")
	}
	return j, nil
}
