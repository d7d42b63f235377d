package agent

import (
	"context"
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// heartbeat renews the Lease every RenewInterval until ctx ends. When renewals keep failing
// until the controller may already consider the agent lost, it cancels the running attempts:
// the controller will hand their ECUs to other agents, and two testers must never talk to one
// ECU at once.
func (rp *reporter) heartbeat(ctx context.Context) error {
	lastOK := time.Now()
	fenced := false
	t := time.NewTicker(rp.opts.RenewInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		rctx, cancel := context.WithTimeout(ctx, rp.opts.RenewInterval)
		err := rp.renewLease(rctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return nil
		case err == nil:
			if fenced {
				rp.log.Info("Lease renewed again")
			}
			lastOK, fenced = time.Now(), false
		default:
			late := time.Since(lastOK)
			rp.log.Error(err, "Cannot renew the Lease", "sinceLastRenewal", late.Round(time.Millisecond).String())
			if !fenced && late+rp.opts.RenewInterval >= rp.opts.LeaseDuration {
				rp.log.Info("Lease about to expire: cancelling running jobs", "leaseDuration", rp.opts.LeaseDuration)
				rp.fenceJobs()
				fenced = true
			}
		}
	}
}

// renewLease creates or renews the agent's Lease: holder and name are the agent's name.
func (rp *reporter) renewLease(ctx context.Context) error {
	key := types.NamespacedName{Namespace: rp.opts.LeaseNamespace, Name: rp.opts.Name}
	now := metav1.NowMicro()
	seconds := int32(rp.opts.LeaseDuration.Round(time.Second) / time.Second)
	lease := &coordinationv1.Lease{}
	err := rp.reader.Get(ctx, key, lease)
	if apierrors.IsNotFound(err) {
		lease = &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To(rp.opts.Name), LeaseDurationSeconds: &seconds,
				AcquireTime: &now, RenewTime: &now},
		}
		if err = rp.client.Create(ctx, lease); err != nil {
			return fmt.Errorf("create Lease %s: %w", key, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("read Lease %s: %w", key, err)
	}
	if ptr.Deref(lease.Spec.HolderIdentity, "") != rp.opts.Name {
		lease.Spec.HolderIdentity = ptr.To(rp.opts.Name)
		lease.Spec.AcquireTime = &now
		lease.Spec.LeaseTransitions = ptr.To(ptr.Deref(lease.Spec.LeaseTransitions, 0) + 1)
	}
	lease.Spec.LeaseDurationSeconds = &seconds
	lease.Spec.RenewTime = &now
	if err := rp.client.Update(ctx, lease); err != nil {
		return fmt.Errorf("renew Lease %s: %w", key, err)
	}
	return nil
}
