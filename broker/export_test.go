//go:build !planted

package broker

// PlantBug plants a named bug in cfg (planted.go), for the tests that show
// the simulation catches it: "ack-before-isr", "ignore-min-isr" or
// "skip-truncation". A build with the planted tag has it in
// plant_planted.go instead.
func PlantBug(cfg *Config, name string) error { return plantBug(cfg, name) }
