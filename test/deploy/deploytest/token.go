package deploytest

import (
	"context"
	"fmt"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// tokenLifetime matches the DaemonSet's projected serviceAccountToken.
const tokenLifetime = int64(3600)

// AgentPodConfig returns a client config carrying the token the kubelet mounts into the agent
// DaemonSet's pod on nodeName. It creates that Node and a pod bound to it, then asks the
// TokenRequest API for a token bound to the pod, as the kubelet does; the API server then
// authenticates the token with the node in userInfo.extra, which the admission policy reads.
// The agent's ServiceAccount must exist (see AgentAccess).
func AgentPodConfig(ctx context.Context, admin *rest.Config, nodeName string) (*rest.Config, error) {
	kube, err := kubernetes.NewForConfig(admin)
	if err != nil {
		return nil, err
	}
	_, err = kube.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: nodeName}}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("create Node %s: %w", nodeName, err)
	}
	pod, err := kube.CoreV1().Pods(SystemNamespace).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: AgentAccount + "-" + nodeName, Namespace: SystemNamespace},
		Spec: corev1.PodSpec{NodeName: nodeName, ServiceAccountName: AgentAccount,
			Containers: []corev1.Container{{Name: "agent", Image: "ecufleet:latest"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("create the agent pod on %s: %w", nodeName, err)
	}
	lifetime := tokenLifetime
	token, err := kube.CoreV1().ServiceAccounts(SystemNamespace).CreateToken(ctx, AgentAccount, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{
			ExpirationSeconds: &lifetime,
			BoundObjectRef:    &authenticationv1.BoundObjectReference{APIVersion: "v1", Kind: "Pod", Name: pod.Name, UID: pod.UID},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("request a token for %s bound to pod %s: %w", AgentUser, pod.Name, err)
	}
	cfg := rest.AnonymousClientConfig(admin)
	cfg.BearerToken = token.Status.Token
	return cfg, nil
}
