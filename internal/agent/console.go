package agent

import (
	"context"
	"fmt"

	"github.com/nubo-cloud/nubo/internal/driver/hypervisor"
)

// ConsoleOutput returns the last lines (≤0: all) of a server's serial
// console on this host, for os-getConsoleOutput. hypervisor.ErrNotFound
// when the host has no such guest.
func (a *Agent) ConsoleOutput(ctx context.Context, serverID string, lines int) (string, error) {
	c, ok := a.cfg.Hypervisor.(hypervisor.Consoler)
	if !ok {
		return "", fmt.Errorf("agent: the hypervisor driver keeps no console log")
	}
	return c.ConsoleLog(ctx, serverID, lines)
}
