package agent

import (
	"context"
	"fmt"
	"net"

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

// DialVNC connects to the VNC server of a guest of this host (the noVNC
// console proxy of an in-process control plane relays it).
func (a *Agent) DialVNC(ctx context.Context, serverID string) (net.Conn, error) {
	c, ok := a.cfg.Hypervisor.(hypervisor.Consoler)
	if !ok {
		return nil, fmt.Errorf("agent: the hypervisor driver has no graphical console")
	}
	network, address, err := c.VNCAddress(ctx, serverID)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	return d.DialContext(ctx, network, address)
}
