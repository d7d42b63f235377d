package controllers

import (
	"reflect"
	"sync"

	"k8s.io/apimachinery/pkg/util/resourceversion"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// freshCopies keeps the objects the scheduler wrote (or read live after a conflict) until its
// cache has caught up, so that a pass never decides on state older than its own last write.
// It is only an accelerator: correctness rests on the resourceVersion preconditions, and a
// restarted controller, which starts with an empty freshCopies, reads a consistent cache.
type freshCopies struct {
	mu   sync.Mutex
	objs map[freshKey]client.Object
}

// freshKey names an object of one Go type.
type freshKey struct {
	kind reflect.Type
	key  client.ObjectKey
}

// keyOf is obj's key; no fmt, since a pass asks it of every ECU and open job it reads.
func keyOf(obj client.Object) freshKey {
	return freshKey{kind: reflect.TypeOf(obj), key: client.ObjectKeyFromObject(obj)}
}

// remember records an object just returned by the API server.
func (f *freshCopies) remember(obj client.Object) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.objs == nil {
		f.objs = map[freshKey]client.Object{}
	}
	f.objs[keyOf(obj)] = obj.DeepCopyObject().(client.Object)
}

// newest returns the remembered copy when it is newer than the cached object, else the cached
// object, and forgets copies the cache has caught up with (see newer). Both kinds of object are
// shared: callers read them and copy before changing anything.
func newest[T client.Object](f *freshCopies, cached T) T {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := keyOf(cached)
	remembered, ok := f.objs[k]
	if !ok {
		return cached
	}
	if newer(remembered, cached) {
		return remembered.(T) // read-only, like the cache's objects
	}
	delete(f.objs, k)
	return cached
}

// freshen is newest of every object of objs (a pass's objects of one kind in namespace, by
// name), in place, in time proportional to the remembered copies, which are few, instead of to
// the objects: keying and looking up each of 15,000 was a twentieth of a pass (issue 14).
func freshen[T client.Object](f *freshCopies, namespace string, objs map[string]T) {
	f.mu.Lock()
	defer f.mu.Unlock()
	kind := reflect.TypeFor[T]()
	for k, remembered := range f.objs {
		if k.kind != kind || k.key.Namespace != namespace {
			continue
		}
		cached, ok := objs[k.key.Name]
		if !ok {
			continue
		}
		if newer(remembered, cached) {
			objs[k.key.Name] = remembered.(T)
			continue
		}
		delete(f.objs, k)
	}
}

// newer reports whether the remembered copy is newer than the cached object by their resource
// versions, compared as the API server's comparable integers (one that is not: the cache wins).
func newer(remembered, cached client.Object) bool {
	cmp, err := resourceversion.CompareResourceVersion(remembered.GetResourceVersion(), cached.GetResourceVersion())
	return err == nil && cmp > 0
}

// forgetAbsent drops remembered objects of one kind and namespace whose name present denies
// (deleted objects), so that the map does not grow.
func (f *freshCopies) forgetAbsent(sample client.Object, namespace string, present func(name string) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	kind := reflect.TypeOf(sample)
	for k := range f.objs {
		if k.kind == kind && k.key.Namespace == namespace && !present(k.key.Name) {
			delete(f.objs, k)
		}
	}
}

// rememberedOf returns the remembered objects of one kind, in any namespace, to be read only.
func rememberedOf[T client.Object](f *freshCopies) []T {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []T
	for _, o := range f.objs {
		if t, ok := o.(T); ok {
			out = append(out, t)
		}
	}
	return out
}

// forget drops the remembered copy of a deleted object of sample's type.
func (f *freshCopies) forget(sample client.Object, key client.ObjectKey) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.objs, freshKey{kind: reflect.TypeOf(sample), key: key})
}

// isKey is the membership test of a map's keys, for forgetAbsent.
func isKey[V any](m map[string]V) func(string) bool {
	return func(name string) bool {
		_, ok := m[name]
		return ok
	}
}
