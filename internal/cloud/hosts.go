package cloud

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/compute"
	"github.com/nubo-cloud/nubo/internal/driver/hypervisor"
	"github.com/nubo-cloud/nubo/internal/hostapi"
	"github.com/nubo-cloud/nubo/internal/policy"
)

// ConsoleReader reads the serial console of a guest on one host: an
// in-process host agent.
type ConsoleReader interface {
	HostID() string
	ConsoleOutput(ctx context.Context, serverID string, lines int) (string, error)
}

// consoles maps host IDs to the in-process agents that read their guests'
// consoles; other hosts' guests' console output and VNC servers are
// reached through their agents (remote: requests in the host's State).
type consoles struct {
	mu     sync.Mutex
	agents []ConsoleReader
	remote interface {
		ConsoleOutput(ctx context.Context, hostID, serverID string, lines int) (string, error)
		DialVNC(ctx context.Context, hostID, serverID string) (net.Conn, error)
	}
}

func (c *consoles) add(r ConsoleReader) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.agents = append(c.agents, r)
}

func (c *consoles) ConsoleOutput(ctx context.Context, hostID, serverID string, lines int) (string, error) {
	c.mu.Lock()
	agents := append([]ConsoleReader(nil), c.agents...)
	c.mu.Unlock()
	for _, a := range agents {
		if a.HostID() == hostID {
			out, err := a.ConsoleOutput(ctx, serverID, lines)
			if errors.Is(err, hypervisor.ErrNotFound) {
				return "", compute.ErrNoConsole
			}
			return out, err
		}
	}
	if c.remote != nil {
		return c.remote.ConsoleOutput(ctx, hostID, serverID, lines)
	}
	return "", compute.ErrNoConsole
}

// VNCDialer connects to the VNC server of a guest on one host (an
// in-process agent's ConsoleReader may also be one).
type VNCDialer interface {
	DialVNC(ctx context.Context, serverID string) (net.Conn, error)
}

// DialVNC connects to the VNC server of serverID on hostID, through the
// in-process agent of that host, or a tunnel through its agent on another
// machine; ErrNoConsole when there is none (simulated hosts).
func (c *consoles) DialVNC(ctx context.Context, hostID, serverID string) (net.Conn, error) {
	c.mu.Lock()
	agents := append([]ConsoleReader(nil), c.agents...)
	c.mu.Unlock()
	for _, a := range agents {
		if d, ok := a.(VNCDialer); ok && a.HostID() == hostID {
			return d.DialVNC(ctx, serverID)
		}
	}
	if c.remote != nil {
		return c.remote.DialVNC(ctx, hostID, serverID)
	}
	return nil, compute.ErrNoConsole
}

// AddConsoleReader lets the control plane read the consoles of an
// in-process agent's guests (os-getConsoleOutput) and, if it is a
// VNCDialer, open their graphical consoles (the noVNC proxy).
func (c *Cloud) AddConsoleReader(r ConsoleReader) { c.consoles.add(r) }

// hostAuthorizer admits only admins to the host API (/host/v1).
func hostAuthorizer(auth apihttp.Authenticator) func(*http.Request) error {
	return func(r *http.Request) error {
		tok := r.Header.Get("X-Auth-Token")
		if tok == "" {
			return hostapi.ErrUnauthorized
		}
		cr, err := auth.Authorize(r.Context(), tok)
		if err != nil {
			return err // a *fault.Error keeps its status (401 for a bad token)
		}
		if !cr.HasRole(policy.RoleAdmin) {
			return hostapi.ErrForbidden
		}
		return nil
	}
}
