package builders

import (
	corev1 "k8s.io/api/core/v1"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// DownloadWrapper builds a download step; its source and options read like the YAML.
type DownloadWrapper struct{ StepWrapper }

// Download starts a download step with no image source yet.
func Download(name string) *DownloadWrapper {
	return &DownloadWrapper{StepWrapper{diagv1.Step{Name: name, Download: &diagv1.DownloadAction{}}}}
}

// AsStep returns the step, for JobWrapper.Step.
func (w *DownloadWrapper) AsStep() *StepWrapper { return &w.StepWrapper }

// FromHTTP takes the image from url, pinned by sha256.
func (w *DownloadWrapper) FromHTTP(url, sha256 string) *DownloadWrapper {
	w.Download.Image.HTTP = &diagv1.HTTPImage{URL: url, SHA256: sha256}
	return w
}

// FromOCI takes the image from an OCI artifact, with an optional pull secret ("" for none).
func (w *DownloadWrapper) FromOCI(ref, pullSecret string) *DownloadWrapper {
	w.Download.Image.OCI = &diagv1.OCIImage{Ref: ref}
	if pullSecret != "" {
		w.Download.Image.OCI.PullSecretRef = &corev1.LocalObjectReference{Name: pullSecret}
	}
	return w
}

// FromConfigMap takes the image from a binaryData key of a ConfigMap.
func (w *DownloadWrapper) FromConfigMap(name, key string) *DownloadWrapper {
	w.Download.Image.ConfigMap = &diagv1.ConfigMapImage{Name: name, Key: key}
	return w
}

// Format sets the image format.
func (w *DownloadWrapper) Format(f diagv1.ImageFormat) *DownloadWrapper {
	w.Download.Format = f
	return w
}

// Bin reads the image as raw bytes placed at address.
func (w *DownloadWrapper) Bin(address int64) *DownloadWrapper {
	w.Download.Format = diagv1.ImageFormatBin
	w.Download.Address = &address
	return w
}

// AddressAndLengthFormat sets 0x34's addressAndLengthFormatIdentifier.
func (w *DownloadWrapper) AddressAndLengthFormat(alfid int32) *DownloadWrapper {
	w.Download.AddressAndLengthFormatIdentifier = &alfid
	return w
}

// MaxBlockLength caps the ECU's maxNumberOfBlockLength.
func (w *DownloadWrapper) MaxBlockLength(n int64) *DownloadWrapper {
	w.Download.MaxBlockLength = &n
	return w
}
