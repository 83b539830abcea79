package hostctl

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"time"

	"github.com/nubo-cloud/nubo/internal/compute"
	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/logkey"
	"github.com/nubo-cloud/nubo/internal/network"
	"github.com/nubo-cloud/nubo/internal/store"
)

// dhcpResync bounds how long a failed DHCP reconcile waits for its retry.
const dhcpResync = 30 * time.Second

// DHCPReconciler keeps the DHCP ports of networks in line with what the
// network node serves: one managed network:dhcp port per active network
// with a DHCP-enabled IPv4 subnet (device_id dhcp<node-id>-<network-id>,
// bound to the network node, an address on each such subnet), none
// elsewhere. DHCP ports a user made are never touched.
type DHCPReconciler struct {
	st  store.Store
	net *network.Service
	log *slog.Logger
}

// NewDHCPReconciler returns the reconciler of the cloud's DHCP ports.
func NewDHCPReconciler(st store.Store, net *network.Service, log *slog.Logger) *DHCPReconciler {
	return &DHCPReconciler{st: st, net: net, log: log.With(logkey.Component, "hostctl-dhcp")}
}

// DHCPReconciler returns the reconciler of the DHCP ports c's network node
// serves.
func (c *Control) DHCPReconciler() *DHCPReconciler { return NewDHCPReconciler(c.st, c.net, c.log) }

// relevant reports whether a change can change which DHCP ports should
// exist (networks, subnets, ports, hosts, servers).
func relevant(ch store.Change) bool {
	return network.IsKind(ch.Kind) || ch.Kind == compute.KindHost || ch.Kind == compute.KindServer
}

// Run reconciles at start, after each batch of relevant changes on the
// change feed, and every 30 s, until ctx ends. Level-triggered: every pass
// recomputes everything from one snapshot.
// dhcpMinInterval separates two reconciles caused by changes.
const dhcpMinInterval = 250 * time.Millisecond

func (r *DHCPReconciler) Run(ctx context.Context) error {
	for {
		rev, err := r.st.Revision(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		engaged, err := r.reconcile(ctx)
		if err != nil && ctx.Err() == nil {
			r.log.ErrorContext(ctx, "reconcile DHCP ports", logkey.Err, err)
		}
		last := time.Now()
		resync := time.Now().Add(dhcpResync)
		for time.Now().Before(resync) {
			changes, err := r.st.Changes(ctx, rev, 1000)
			if errors.Is(err, store.ErrCompacted) {
				break
			}
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			dirty := false
			var hosts []string // hosts changed while not engaged
			for _, ch := range changes {
				rev = ch.Rev
				switch {
				case !relevant(ch):
				case engaged:
					dirty = true
				case ch.Kind == compute.KindHost && !ch.Deleted:
					hosts = append(hosts, ch.ID)
				}
			}
			if !dirty && len(hosts) > 0 {
				// Placement rewrites a host with every claim: only a real
				// network node appearing can engage the reconciler.
				if dirty, err = r.networkNodeAmong(ctx, hosts); err != nil {
					if ctx.Err() != nil {
						return nil
					}
					r.log.ErrorContext(ctx, "read changed hosts", logkey.Err, err)
					dirty = true
				}
			}
			if dirty {
				// A reconcile reads the whole topology: coalesce bursts of
				// changes (a cloud creating servers at hundreds a second).
				if wait := dhcpMinInterval - time.Since(last); wait > 0 {
					select {
					case <-ctx.Done():
						return nil
					case <-time.After(wait):
					}
				}
				last = time.Now()
				if engaged, err = r.reconcile(ctx); err != nil && ctx.Err() == nil {
					r.log.ErrorContext(ctx, "reconcile DHCP ports", logkey.Err, err)
				}
			}
			if len(changes) == 1000 {
				continue
			}
			wctx, cancel := context.WithDeadline(ctx, resync)
			_, _ = r.st.Wait(wctx, rev)
			cancel()
			if ctx.Err() != nil {
				return nil
			}
		}
	}
}

// networkNodeAmong reports whether one of the hosts ids is (now) a real
// network node.
func (r *DHCPReconciler) networkNodeAmong(ctx context.Context, ids []string) (bool, error) {
	found := false
	err := r.st.Read(ctx, func(tx store.ReadTx) error {
		seen := map[string]bool{}
		for _, id := range ids {
			if seen[id] {
				continue
			}
			seen[id] = true
			h, err := store.Get[compute.Host](tx, compute.KindHost, id)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if h.NetworkNode && isReal(h) {
				found = true
				return nil
			}
		}
		return nil
	})
	return found, err
}

// Reconcile makes one pass: it reads one snapshot and creates, updates or
// deletes the DHCP ports that differ from what it should be. A network
// deleted meanwhile is skipped (its DHCP ports go with it).
func (r *DHCPReconciler) Reconcile(ctx context.Context) error {
	_, err := r.reconcile(ctx)
	return err
}

// reconcile is Reconcile that also says whether DHCP ports matter at all
// now: a network node exists, or ports of one may be left. When they do
// not (a cloud of fake hosts only), changes other than hosts' cannot make
// them matter, so Run skips the pass they would cause.
func (r *DHCPReconciler) reconcile(ctx context.Context) (engaged bool, err error) {
	v, err := readView(ctx, r.st)
	if err != nil {
		return true, err
	}
	defer func() { engaged = v.node != nil || err != nil }()
	var errs []error
	for i := range v.topo.Networks {
		n := &v.topo.Networks[i]
		device, host := "", ""
		if v.wantsDHCP(n.ID) {
			device, host = network.DHCPDeviceID(v.node.ID, n.ID), v.node.Name
		}
		if v.dhcpInLine(n.ID, device, host) {
			continue
		}
		p, wrote, err := r.net.SyncDHCPPort(ctx, n.ID, device, host)
		if fault.Is(err, fault.NotFound) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if wrote {
			if p != nil {
				r.log.InfoContext(ctx, "DHCP port ensured", "network_id", n.ID, "port_id", p.ID, "host", host)
			} else {
				r.log.InfoContext(ctx, "DHCP port removed", "network_id", n.ID)
			}
		}
	}
	return true, errors.Join(errs...) // engaged is set by the deferred func
}

// dhcpInLine reports whether a network's managed DHCP ports already are
// what they should be: exactly one with device (bound to host, an address
// on each DHCP subnet), or none when device is "".
func (v *view) dhcpInLine(networkID, device, host string) bool {
	var managed []*network.Port
	for _, p := range v.netPorts[networkID] {
		if network.ManagedDHCPPort(p) {
			managed = append(managed, p)
		}
	}
	if device == "" {
		return len(managed) == 0
	}
	if len(managed) != 1 {
		return false
	}
	p := managed[0]
	if p.DeviceID != device || p.Binding.HostID != host {
		return false
	}
	want := v.dhcpSubnets(networkID)
	if len(p.FixedIPs) != len(want) {
		return false
	}
	seen := map[string]bool{}
	for _, ip := range p.FixedIPs {
		if seen[ip.SubnetID] || !slices.Contains(want, ip.SubnetID) {
			return false
		}
		seen[ip.SubnetID] = true
	}
	return true
}
