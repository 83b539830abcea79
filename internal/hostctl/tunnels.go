package hostctl

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net"
	"time"

	"github.com/nubo-cloud/nubo/internal/compute"
	"github.com/nubo-cloud/nubo/internal/hostapi"
	"github.com/nubo-cloud/nubo/internal/store"
)

// kindTunnelRequest is the record of a tunnel request to a host agent.
const kindTunnelRequest = "hostctl.tunnel_request"

// TunnelTimeout bounds how long DialVNC waits for a host's agent.
var TunnelTimeout = 15 * time.Second

// tunnelRequest asks a host's agent for a stream to a server's VNC server.
type tunnelRequest struct {
	ID        string    `json:"id"`
	HostID    string    `json:"host_id"`
	ServerID  string    `json:"server_id"`
	CreatedAt time.Time `json:"created_at"`
}

// pendingTunnel is a DialVNC waiting for its agent, in this process: the
// agent's Tunnel call must reach the control plane that asked (one
// control plane, or sticky routing of /host/v1 to it).
type pendingTunnel struct {
	hostID string
	ch     chan io.ReadWriteCloser // buffered (1)
}

func tunnelRecord(r *tunnelRequest) store.Record {
	return store.Record{Kind: kindTunnelRequest, ID: r.ID, Ref: r.HostID, Value: r}
}

// pendingTunnels returns a host's unexpired tunnel requests.
func pendingTunnels(tx store.ReadTx, hostID string, now time.Time) ([]hostapi.TunnelRequest, error) {
	reqs, err := store.List[tunnelRequest](tx, kindTunnelRequest, store.ListOptions{Ref: hostID})
	if err != nil {
		return nil, err
	}
	var out []hostapi.TunnelRequest
	for _, r := range reqs {
		if now.Sub(r.CreatedAt) < TunnelTimeout {
			out = append(out, hostapi.TunnelRequest{ID: r.ID, ServerID: r.ServerID})
		}
	}
	return out, nil
}

// DialVNC returns a stream to the VNC server of a server on host hostID
// (an agent on another machine): it records a tunnel request that the
// host's next State carries and waits until the agent joined the guest's
// VNC server to it (Tunnel) or TunnelTimeout passed. compute.ErrNoConsole
// when the host is not a real one or its agent does not answer in time.
func (c *Control) DialVNC(ctx context.Context, hostID, serverID string) (net.Conn, error) {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	now := time.Now()
	req := &tunnelRequest{ID: hex.EncodeToString(b), HostID: hostID, ServerID: serverID, CreatedAt: now}
	p := &pendingTunnel{hostID: hostID, ch: make(chan io.ReadWriteCloser, 1)}
	c.tunMu.Lock()
	if c.tunnels == nil {
		c.tunnels = map[string]*pendingTunnel{}
	}
	c.tunnels[req.ID] = p
	c.tunMu.Unlock()
	defer func() {
		c.tunMu.Lock()
		delete(c.tunnels, req.ID)
		select { // delivered after the wait ended: nobody will read it
		case s := <-p.ch:
			s.Close()
		default:
		}
		c.tunMu.Unlock()
	}()
	if _, err := c.offer(ctx, hostID, kindTunnelRequest, TunnelTimeout, tunnelRecord(req), now); err != nil {
		return nil, err
	}
	defer c.withdraw(ctx, kindTunnelRequest, req.ID)
	t := time.NewTimer(TunnelTimeout)
	defer t.Stop()
	select {
	case s := <-p.ch:
		return s.(net.Conn), nil
	case <-t.C:
		return nil, compute.ErrNoConsole
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Tunnel implements hostapi.Control: it joins the caller (hostID's agent)
// to the DialVNC waiting for tunnelID.
func (c *Control) Tunnel(ctx context.Context, hostID, tunnelID string) (io.ReadWriteCloser, error) {
	c.tunMu.Lock()
	defer c.tunMu.Unlock()
	p := c.tunnels[tunnelID]
	if p == nil || p.hostID != hostID {
		return nil, hostapi.ErrNotFound
	}
	delete(c.tunnels, tunnelID)
	mine, theirs := net.Pipe()
	select {
	case p.ch <- mine:
		return theirs, nil
	default:
		mine.Close()
		theirs.Close()
		return nil, hostapi.ErrNotFound
	}
}
