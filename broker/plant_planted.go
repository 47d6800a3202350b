//go:build planted

package broker

// PlantBug plants a named bug in cfg (planted.go; PlantedBugs names
// them). Only a build with the planted tag has it, for
// `go run -tags planted ./cmd/gregor sim --plant NAME`, which shows the
// checkers catch each bug.
func PlantBug(cfg *Config, name string) error { return plantBug(cfg, name) }
