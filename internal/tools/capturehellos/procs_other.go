//go:build !unix

package main

import (
	"os"
	"os/exec"
)

// Without Unix process groups only the child itself can be signalled;
// helpers it spawned may outlive it. The tool is meant for Linux (it drives
// Debian's browsers), so this is a best effort.

func setProcessGroup(*exec.Cmd) {}

func terminateGroup(pid int) { killGroup(pid) }

func killGroup(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill()
	}
}
