package agent

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
)

// eventSource names the agent in the Events it records, next to the controller's.
const eventSource = "ecufleet-agent"

// eventNoteLimit keeps an Event's note under the API server's 1 kB limit.
const eventNoteLimit = 1000

// recordEvent records an Event on obj through rec, so that `kubectl describe` on a job or an
// ECU tells what the agent saw there: an attempt's end, an unreachable ECU, a restart.
func recordEvent(rec events.EventRecorder, obj runtime.Object, warning bool, reason, action, note string) {
	kind := corev1.EventTypeNormal
	if warning {
		kind = corev1.EventTypeWarning
	}
	if len(note) > eventNoteLimit {
		note = strings.ToValidUTF8(note[:eventNoteLimit], "") + "..."
	}
	rec.Eventf(obj, nil, kind, reason, action, "%s", note)
}
