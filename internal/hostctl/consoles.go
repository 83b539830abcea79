package hostctl

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"

	"github.com/nubo-cloud/nubo/internal/compute"
	"github.com/nubo-cloud/nubo/internal/hostapi"
	"github.com/nubo-cloud/nubo/internal/store"
)

// kindConsoleRequest is the record of a console request to a host agent.
const kindConsoleRequest = "hostctl.console_request"

// consoleRequestTTL is how long a request is offered to its host; older
// ones are left out of the State and purged.
const consoleRequestTTL = time.Minute

// ConsoleTimeout bounds how long ConsoleOutput waits for a host's answer.
var ConsoleTimeout = 15 * time.Second

// consoleRequest asks a host's agent for a server's console output and,
// once answered, holds the answer until the asker takes it.
type consoleRequest struct {
	ID        string    `json:"id"`
	HostID    string    `json:"host_id"`
	ServerID  string    `json:"server_id"`
	Lines     int       `json:"lines,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	Answered  bool      `json:"answered,omitempty"`
	Output    string    `json:"output,omitempty"`
	NotFound  bool      `json:"not_found,omitempty"`
	Error     string    `json:"error,omitempty"`
}

func consoleRecord(r *consoleRequest) store.Record {
	return store.Record{Kind: kindConsoleRequest, ID: r.ID, Ref: r.HostID, Value: r}
}

// pendingConsoles returns a host's unanswered, unexpired requests.
func pendingConsoles(tx store.ReadTx, hostID string, now time.Time) ([]hostapi.ConsoleRequest, error) {
	reqs, err := store.List[consoleRequest](tx, kindConsoleRequest, store.ListOptions{Ref: hostID})
	if err != nil {
		return nil, err
	}
	var out []hostapi.ConsoleRequest
	for _, r := range reqs {
		if !r.Answered && now.Sub(r.CreatedAt) < consoleRequestTTL {
			out = append(out, hostapi.ConsoleRequest{ID: r.ID, ServerID: r.ServerID, Lines: r.Lines})
		}
	}
	return out, nil
}

// ConsoleOutput reads a server's console through the agent of host hostID
// (one on another machine: the control plane cannot read its files): it
// records a request that the host's next State carries, and waits until
// the agent answered it (ReportConsole) or ConsoleTimeout passed.
// compute.ErrNoConsole when the host is not a real one, has no such guest,
// or does not answer in time.
func (c *Control) ConsoleOutput(ctx context.Context, hostID, serverID string, lines int) (string, error) {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	now := time.Now()
	req := &consoleRequest{ID: hex.EncodeToString(b), HostID: hostID, ServerID: serverID, Lines: lines, CreatedAt: now}
	rev, err := c.offer(ctx, hostID, kindConsoleRequest, consoleRequestTTL, consoleRecord(req), now)
	if err != nil {
		return "", err
	}
	defer c.withdraw(ctx, kindConsoleRequest, req.ID)
	wctx, cancel := context.WithTimeout(ctx, ConsoleTimeout)
	defer cancel()
	for {
		var got *consoleRequest
		err := c.st.Read(wctx, func(tx store.ReadTx) (err error) {
			got, err = store.Get[consoleRequest](tx, kindConsoleRequest, req.ID)
			return err
		})
		if err != nil {
			if wctx.Err() != nil && ctx.Err() == nil {
				return "", compute.ErrNoConsole
			}
			return "", err
		}
		if got.Answered {
			switch {
			case got.NotFound:
				return "", compute.ErrNoConsole
			case got.Error != "":
				c.log.WarnContext(ctx, "console output from the host failed", "host_id", hostID, "server_id", serverID, "error", got.Error)
				return "", compute.ErrNoConsole
			}
			return got.Output, nil
		}
		if rev, err = c.st.Wait(wctx, rev); err != nil {
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			return "", compute.ErrNoConsole // no answer in time
		}
	}
}

// ReportConsole implements hostapi.Control: it records the answer to one of
// hostID's console requests (an answer to a request that is gone, or that
// is another host's, is ignored).
func (c *Control) ReportConsole(ctx context.Context, hostID string, r hostapi.ConsoleReport) error {
	return c.st.Write(ctx, func(tx store.Tx) error {
		req, err := store.Get[consoleRequest](tx, kindConsoleRequest, r.ID)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if req.HostID != hostID || req.Answered {
			return nil
		}
		req.Answered, req.Output, req.NotFound, req.Error = true, r.Output, r.NotFound, r.Error
		return tx.Update(consoleRecord(req))
	})
}

// offer records rec, a request of kind to host hostID's agent, after
// dropping that host's requests of kind older than ttl (their askers gave
// up). compute.ErrNoConsole if hostID is not a real host. It returns the
// revision the write was based on.
func (c *Control) offer(ctx context.Context, hostID, kind string, ttl time.Duration, rec store.Record, now time.Time) (rev int64, err error) {
	err = c.st.Write(ctx, func(tx store.Tx) error {
		h, err := store.Get[compute.Host](tx, compute.KindHost, hostID)
		if errors.Is(err, store.ErrNotFound) || err == nil && !isReal(h) {
			return compute.ErrNoConsole
		}
		if err != nil {
			return err
		}
		old, err := store.List[struct {
			ID        string    `json:"id"`
			CreatedAt time.Time `json:"created_at"`
		}](tx, kind, store.ListOptions{Ref: hostID})
		if err != nil {
			return err
		}
		for _, o := range old {
			if now.Sub(o.CreatedAt) >= ttl {
				if err := tx.Delete(kind, o.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
			}
		}
		rev = tx.Revision()
		return tx.Create(rec)
	})
	return rev, err
}

// withdraw deletes a request record once its asker is done with it.
func (c *Control) withdraw(ctx context.Context, kind, id string) {
	_ = c.st.Write(context.WithoutCancel(ctx), func(tx store.Tx) error {
		if err := tx.Delete(kind, id); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return nil
	})
}
