package controllers

import (
	"context"
	"fmt"

	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// cachePointers hands a pass the informer cache's own ECU and open-job objects. A client.List,
// even with UnsafeDisableDeepCopy, copies every object into the list's Items: with 10,000 ECUs
// and 5,000 queued jobs that was about 10 MB and a tenth of the controller's CPU on every pass
// (issue 14). The objects are shared with the cache: read them, copy before changing one.
type cachePointers struct {
	ecus toolscache.Indexer
	jobs toolscache.Indexer
}

// openJobsByNamespace indexes, in the job informer, the open jobs (isOpen) by namespace.
const openJobsByNamespace = "ecufleet.open-by-namespace"

// newCachePointers reaches the indexers behind the manager cache's ECU and job informers and
// adds the open-jobs index. It fails for a cache whose informers do not expose their indexer:
// the scheduler has no slower path to fall back on.
func newCachePointers(ctx context.Context, c cache.Cache) (*cachePointers, error) {
	ecus, err := indexerOf(ctx, c, &diagv1.ECU{})
	if err != nil {
		return nil, err
	}
	jobs, err := indexerOf(ctx, c, &diagv1.DiagnosticJob{})
	if err != nil {
		return nil, err
	}
	if err := jobs.AddIndexers(toolscache.Indexers{openJobsByNamespace: indexOpenJob}); err != nil {
		return nil, fmt.Errorf("indexing the open DiagnosticJobs by namespace: %w", err)
	}
	return &cachePointers{ecus: ecus, jobs: jobs}, nil
}

// indexOpenJob is the indexer of openJobsByNamespace.
func indexOpenJob(obj any) ([]string, error) {
	if j, ok := obj.(*diagv1.DiagnosticJob); ok && isOpen(j) {
		return []string{j.Namespace}, nil
	}
	return nil, nil
}

// indexerOf is the indexer of the cache's informer for obj's kind.
func indexerOf(ctx context.Context, c cache.Cache, obj client.Object) (toolscache.Indexer, error) {
	inf, err := c.GetInformer(ctx, obj)
	if err != nil {
		return nil, fmt.Errorf("getting the informer of %T: %w", obj, err)
	}
	si, ok := inf.(toolscache.SharedIndexInformer)
	if !ok {
		return nil, fmt.Errorf("the cache's informer of %T is a %T, which does not expose its indexer; use controller-runtime's informer cache", obj, inf)
	}
	return si.GetIndexer(), nil
}

// ecusIn returns the namespace's ECUs, in no order.
func (c *cachePointers) ecusIn(ns string) ([]*diagv1.ECU, error) {
	return byIndex[*diagv1.ECU](c.ecus, toolscache.NamespaceIndex, ns)
}

// openJobsIn returns the namespace's open jobs (see isOpen), in no order.
func (c *cachePointers) openJobsIn(ns string) ([]*diagv1.DiagnosticJob, error) {
	return byIndex[*diagv1.DiagnosticJob](c.jobs, openJobsByNamespace, ns)
}

// allJobsIn returns every job of the namespace, in no order.
func (c *cachePointers) allJobsIn(ns string) ([]*diagv1.DiagnosticJob, error) {
	return byIndex[*diagv1.DiagnosticJob](c.jobs, toolscache.NamespaceIndex, ns)
}

// byIndex reads an index of an indexer as objects of type T.
func byIndex[T client.Object](idx toolscache.Indexer, name, value string) ([]T, error) {
	items, err := idx.ByIndex(name, value)
	if err != nil {
		return nil, fmt.Errorf("reading index %s of the cache: %w", name, err)
	}
	out := make([]T, 0, len(items))
	for _, it := range items {
		o, ok := it.(T)
		if !ok {
			return nil, fmt.Errorf("the cache's index %s holds a %T", name, it)
		}
		out = append(out, o)
	}
	return out, nil
}
