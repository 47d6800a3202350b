// Package fakeclock defines functions that share names with package time
// but are not it; detcheck must resolve by object, not by name.
package fakeclock

type Time int64

func Now() Time { return 0 }

func Sleep(d int64) {}

func After(d int64) <-chan Time { return nil }
