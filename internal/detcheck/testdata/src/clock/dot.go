package clock

import . "time"

func dotted() {
	_ = Now()        // want `time.Now reads the real clock`
	_ = NewTicker(1) // want `time.NewTicker waits on the real clock`
	_ = Duration(1) * Second
}
