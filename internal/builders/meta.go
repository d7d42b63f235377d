package builders

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// setLabel adds one label, allocating the map on first use, for every wrapper's Label.
func setLabel(meta *metav1.ObjectMeta, key, value string) {
	if meta.Labels == nil {
		meta.Labels = map[string]string{}
	}
	meta.Labels[key] = value
}

// matchLabels turns a label map into a selector; a nil or empty map selects everything.
func matchLabels(labels map[string]string) *metav1.LabelSelector {
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{}}
	for k, v := range labels {
		sel.MatchLabels[k] = v
	}
	return sel
}

// condition builds a condition with the current time, as writers of status do.
func condition(condType string, status metav1.ConditionStatus, reason string) metav1.Condition {
	return metav1.Condition{
		Type:               condType,
		Status:             status,
		Reason:             reason,
		LastTransitionTime: metav1.Now(),
	}
}
