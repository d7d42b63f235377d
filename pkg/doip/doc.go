// Package doip implements Diagnostics over IP (ISO 13400-2): the wire messages, a TCP framer,
// a tester-side Client and an entity-side Server with a Handler, in the style of net/http.
//
// Every ecufleet component that talks to a vehicle goes through this package, so it is strict on
// input (each fault is a typed *Error that names the generic NACK to answer and whether the
// socket must close) and bounded in memory (a header never makes it allocate more than the
// configured maximum payload).
package doip
