package clock

import (
	"fakeclock"
	"time"
)

func bad() {
	_ = time.Now()                     // want `time.Now reads the real clock; use env.Clock`
	_ = time.Since(time.Time{})        // want `time.Since reads the real clock`
	_ = time.Until(time.Time{})        // want `time.Until reads the real clock`
	time.Sleep(time.Second)            // want `time.Sleep waits on the real clock`
	<-time.After(time.Second)          // want `time.After waits on the real clock`
	time.AfterFunc(time.Second, bad)   // want `time.AfterFunc waits on the real clock`
	_ = time.NewTimer(time.Second)     // want `time.NewTimer waits on the real clock`
	_ = time.NewTicker(time.Second)    // want `time.NewTicker waits on the real clock`
	_ = time.Tick(time.Second)         // want `time.Tick waits on the real clock`
	_ = time.Now().Add(time.Second)    // want `time.Now reads the real clock`
	defer time.Sleep(time.Millisecond) // want `time.Sleep waits on the real clock`
}

// References as values leak the real clock just as calls do.
func values() {
	f := time.Now // want `time.Now reads the real clock`
	_ = f()
	var sleep func(time.Duration) = time.Sleep // want `time.Sleep waits on the real clock`
	sleep(0)
	_ = []func() time.Time{time.Now} // want `time.Now reads the real clock`
}

// Types, constants, pure constructors and methods are deterministic.
func fine(t, u time.Time, d time.Duration) time.Duration {
	d = d*2 + time.Millisecond - time.Duration(3)*time.Second
	_ = d.Seconds()
	_ = d.String()
	_ = time.Unix(1700000000, 0)
	_ = time.Date(2024, time.January, 1, 0, 0, 0, 0, time.UTC)
	_, _ = time.ParseDuration("1s")
	_ = t.After(u) // a method named After, not time.After
	_ = t.Sub(u)
	_ = t.Add(d).Before(u)
	_ = time.UnixMilli(5).UTC()
	var timer *time.Timer // the type is fine; creating one is not
	_ = timer
	return d
}

// Functions named like time's, but from another package, are fine.
func lookalikes() {
	_ = fakeclock.Now()
	fakeclock.Sleep(1)
	<-fakeclock.After(1)
	Now := func() int { return 0 }
	_ = Now()
}
