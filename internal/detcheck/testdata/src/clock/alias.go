package clock

import (
	t "time"
)

func aliased() {
	_ = t.Now()       // want `time.Now reads the real clock`
	t.Sleep(t.Second) // want `time.Sleep waits on the real clock`
	g := t.Since      // want `time.Since reads the real clock`
	_ = g
	_ = t.Unix(0, 0)
}
