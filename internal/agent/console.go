package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/nubo-cloud/nubo/internal/driver/hypervisor"
	"github.com/nubo-cloud/nubo/internal/hostapi"
	"github.com/nubo-cloud/nubo/internal/logkey"
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

// answerConsoles answers the State's console requests, each once, in the
// background: the console's tail (hostapi.MaxConsoleOutput at most), or
// why there is none. A request whose answer could not be sent is tried
// again while the State still offers it.
func (a *Agent) answerConsoles(ctx context.Context, reqs []hostapi.ConsoleRequest) {
	a.consoleMu.Lock()
	defer a.consoleMu.Unlock()
	offered := make(map[string]bool, len(reqs))
	for _, r := range reqs {
		offered[r.ID] = true
	}
	for id := range a.consoles { // forget requests no longer offered
		if !offered[id] {
			delete(a.consoles, id)
		}
	}
	if a.consoles == nil {
		a.consoles = map[string]bool{}
	}
	for _, r := range reqs {
		if a.consoles[r.ID] {
			continue
		}
		a.consoles[r.ID] = true
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			rep := hostapi.ConsoleReport{ID: r.ID}
			out, err := a.ConsoleOutput(ctx, r.ServerID, r.Lines)
			switch {
			case errors.Is(err, hypervisor.ErrNotFound):
				rep.NotFound = true
			case err != nil:
				rep.Error = err.Error()
			default:
				if len(out) > hostapi.MaxConsoleOutput {
					out = out[len(out)-hostapi.MaxConsoleOutput:]
				}
				rep.Output = out
			}
			if err := a.cfg.Control.ReportConsole(ctx, a.HostID(), rep); err != nil {
				a.log.WarnContext(ctx, "report console output", "server_id", r.ServerID, logkey.Err, err)
				a.consoleMu.Lock()
				delete(a.consoles, r.ID)
				a.consoleMu.Unlock()
			}
		}()
	}
}

// openTunnels serves the State's tunnel requests, each once, in the
// background: it dials the guest's VNC server and joins it to the control
// plane's end of the tunnel until either side closes. A guest without a
// VNC server gets no tunnel (the asker times out).
func (a *Agent) openTunnels(ctx context.Context, reqs []hostapi.TunnelRequest) {
	a.consoleMu.Lock()
	defer a.consoleMu.Unlock()
	offered := make(map[string]bool, len(reqs))
	for _, r := range reqs {
		offered[r.ID] = true
	}
	for id := range a.tunnels {
		if !offered[id] {
			delete(a.tunnels, id)
		}
	}
	if a.tunnels == nil {
		a.tunnels = map[string]bool{}
	}
	for _, r := range reqs {
		if a.tunnels[r.ID] {
			continue
		}
		a.tunnels[r.ID] = true
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			vnc, err := a.DialVNC(ctx, r.ServerID)
			if err != nil {
				a.log.WarnContext(ctx, "console tunnel: dial VNC", "server_id", r.ServerID, logkey.Err, err)
				return
			}
			defer vnc.Close()
			end, err := a.cfg.Control.Tunnel(ctx, a.HostID(), r.ID)
			if err != nil {
				a.log.WarnContext(ctx, "console tunnel: open", "server_id", r.ServerID, logkey.Err, err)
				return
			}
			defer end.Close()
			done := make(chan struct{}, 2)
			go func() { _, _ = io.Copy(end, vnc); done <- struct{}{} }()
			go func() { _, _ = io.Copy(vnc, end); done <- struct{}{} }()
			select { // either side closing ends both
			case <-done:
			case <-ctx.Done():
			}
		}()
	}
}
