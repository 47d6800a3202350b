package main

import "syscall"

// memberProcAttr makes a broker die with its supervisor, so a killed
// "gregor cluster" leaves no brokers behind.
func memberProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
