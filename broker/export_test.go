//go:build !planted

package broker

// PlantBug plants a named bug in cfg (planted.go), for the tests that show
// the simulation catches it (PlantedBugs names them). A build with the planted tag has it in
// plant_planted.go instead.
func PlantBug(cfg *Config, name string) error { return plantBug(cfg, name) }
