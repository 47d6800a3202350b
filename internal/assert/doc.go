// Package assert checks invariants. A failed assertion is a programmer
// error: it panics, and the simulator turns the panic into a "crash" verdict
// with the seed that reproduces it.
//
// Cheap checks always run. Expensive ones are written
//
//	if assert.Enabled { … }
//
// and run only under the `invariants` build tag, which the simulator's
// tests and CI always set.
//
// Owns: Enabled, That, Thatf. Must not import any other gregor package.
package assert
