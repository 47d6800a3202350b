package broker

import "fmt"

// PlantBug plants a named bug in cfg (planted.go), for the tests that show
// the simulation catches it: "ack-before-isr" or "ignore-min-isr".
func PlantBug(cfg *Config, name string) error {
	switch name {
	case "ack-before-isr":
		cfg.plant = bugAckBeforeISR
	case "ignore-min-isr":
		cfg.plant = bugIgnoreMinISR
	default:
		return fmt.Errorf("no planted bug %q", name)
	}
	return nil
}
