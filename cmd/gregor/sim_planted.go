//go:build planted

package main

import "github.com/gregor-dst/gregor/broker"

// A build with the planted tag can plant a known bug in every simulated
// broker (gregor sim --plant NAME), to show the checkers catch it.
func init() {
	plantHook = func(name string) (func(*broker.Config), error) {
		probe := broker.DefaultConfig()
		if err := broker.PlantBug(&probe, name); err != nil {
			return nil, err
		}
		return func(c *broker.Config) { _ = broker.PlantBug(c, name) }, nil
	}
}
