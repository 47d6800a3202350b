//go:build !linux

package main

import "syscall"

// memberProcAttr: without Linux's parent-death signal, brokers outlive a
// killed supervisor; a graceful stop still stops them.
func memberProcAttr() *syscall.SysProcAttr { return nil }
