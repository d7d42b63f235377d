package v1alpha1

import corev1 "k8s.io/api/core/v1"

// ImageFormat is how an image file is laid out, so the agent knows how to split it into segments.
// +kubebuilder:validation:Enum=auto;ihex;srec;bin
type ImageFormat string

const (
	// ImageFormatAuto detects the format from the OCI title's extension, else from the content.
	ImageFormatAuto ImageFormat = "auto"
	// ImageFormatIHex is Intel HEX.
	ImageFormatIHex ImageFormat = "ihex"
	// ImageFormatSRec is Motorola S-record.
	ImageFormatSRec ImageFormat = "srec"
	// ImageFormatBin is raw bytes placed at DownloadAction.Address.
	ImageFormatBin ImageFormat = "bin"
)

// DownloadAction flashes an image into the ECU with RequestDownload, TransferData and
// RequestTransferExit, one 0x34 per contiguous segment (docs/flashing.md).
// +kubebuilder:validation:XValidation:rule="has(self.address) == (has(self.format) && self.format == 'bin')",message="address is required with format bin and only allowed with it: ihex and srec files carry their own addresses"
type DownloadAction struct {
	// image is where the file comes from: exactly one of http, oci or configMap.
	Image ImageSource `json:"image"`

	// format is auto, ihex, srec or bin (auto: by the OCI title's extension, else by content).
	// +kubebuilder:default=auto
	// +optional
	Format ImageFormat `json:"format,omitempty"`

	// address is where the first byte of a bin image goes.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=4294967295
	// +optional
	Address *int64 `json:"address,omitempty"`

	// dataFormatIdentifier is 0x34's compression and encryption byte (0x00: neither).
	// +kubebuilder:default=0
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=255
	// +optional
	DataFormatIdentifier int32 `json:"dataFormatIdentifier,omitempty"`

	// addressAndLengthFormatIdentifier is 0x34's size length (high nibble) and address length
	// (low nibble) in bytes, each 1..4; unset: the smallest that fits each segment.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=255
	// +kubebuilder:validation:XValidation:rule="self / 16 >= 1 && self / 16 <= 4 && self % 16 >= 1 && self % 16 <= 4",message="addressAndLengthFormatIdentifier must have each nibble 1..4 (bytes of size, bytes of address), e.g. 0x44"
	// +optional
	AddressAndLengthFormatIdentifier *int32 `json:"addressAndLengthFormatIdentifier,omitempty"`

	// maxBlockLength caps the ECU's maxNumberOfBlockLength (the whole 0x36 request, SID and
	// counter included), e.g. to keep blocks within a gateway's buffer.
	// +kubebuilder:validation:Minimum=3
	// +kubebuilder:validation:Maximum=4294967295
	// +optional
	MaxBlockLength *int64 `json:"maxBlockLength,omitempty"`
}

// ImageSource names where an image file comes from; the agent verifies its digest before it
// sends anything to the ECU.
// +kubebuilder:validation:XValidation:rule="(has(self.http) ? 1 : 0) + (has(self.oci) ? 1 : 0) + (has(self.configMap) ? 1 : 0) == 1",message="image needs exactly one source: http, oci or configMap"
type ImageSource struct {
	// http is a file on a web server, pinned by its sha256.
	// +optional
	HTTP *HTTPImage `json:"http,omitempty"`

	// oci is an OCI artifact whose one layer is the image file, pinned by the manifest digest.
	// +optional
	OCI *OCIImage `json:"oci,omitempty"`

	// configMap is a key of a ConfigMap's binaryData in the job's namespace, for small images.
	// +optional
	ConfigMap *ConfigMapImage `json:"configMap,omitempty"`
}

// HTTPImage is an image on a web server; the sha256 is required so the bytes flashed are the
// bytes meant.
type HTTPImage struct {
	// url is the http or https address of the file.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self.matches('^https?://[^/ ]+')",message="url must be an http:// or https:// address, e.g. \"http://images.lab/app.hex\""
	URL string `json:"url"`

	// sha256 is the file's digest: 64 lowercase hex digits.
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="self.matches('^[0-9a-f]{64}$')",message="sha256 must be 64 lowercase hex digits (sha256sum's output)"
	SHA256 string `json:"sha256"`
}

// OCIImage is an artifact in an OCI registry, pulled with oras-go.
type OCIImage struct {
	// ref is registry/repository:tag or registry/repository@sha256:<digest>.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:XValidation:rule="self.matches('^[^/ ]+/[^ ]+$')",message="ref must be registry/repository:tag or registry/repository@sha256:<digest>, e.g. \"registry.lab:5000/ecu/app:1.2\""
	Ref string `json:"ref"`

	// pullSecretRef names a kubernetes.io/dockerconfigjson Secret in the job's namespace; unset:
	// the registry is read anonymously.
	// +optional
	PullSecretRef *corev1.LocalObjectReference `json:"pullSecretRef,omitempty"`
}

// ConfigMapImage is a binaryData key of a ConfigMap in the job's namespace.
type ConfigMapImage struct {
	// name of the ConfigMap.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// key in the ConfigMap's binaryData.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key"`
}

// TransferStatus is how far a download step got, so a person can watch a flash.
type TransferStatus struct {
	// bytes written so far.
	Bytes int64 `json:"bytes"`
	// totalBytes is the image's size over all segments.
	TotalBytes int64 `json:"totalBytes"`
	// blocks is the number of TransferData blocks accepted.
	Blocks int64 `json:"blocks"`
	// bytesPerSecond is the throughput since the first RequestDownload.
	BytesPerSecond int64 `json:"bytesPerSecond"`
}
