package goroutines

func work() {}

func spawn() {
	go work() // want `go statement starts a goroutine`

	go func() { // want `go statement starts a goroutine`
		work()
	}()
}

func wait(a, b chan int) int {
	select { // want `select chooses among ready cases at random`
	case v := <-a:
		return v
	case v := <-b:
		return v
	}
}

func poll(a chan int) {
	select { // want `select chooses among ready cases at random`
	default:
	}
}

// Plain channel operations are not goroutines or selects and are allowed.
func plain(a chan int) int {
	a <- 1
	return <-a
}

// A function value is only a goroutine once launched with go.
func deferred() {
	defer work()
	f := work
	f()
}
