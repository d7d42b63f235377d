// Package builders makes valid ecufleet API objects in one expression for tests, in the style of
// Kueue's testing wrappers: each wrapper embeds the object, every setter returns the wrapper, and
// Obj returns the object, so a test states only what it cares about.
package builders
