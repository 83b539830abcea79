package netdevtest

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync"

	"github.com/nubo-cloud/nubo/internal/driver/netdev"
)

// Fake is an in-memory netdev.Driver. Function fields, when set, replace
// the default behaviour of the matching method.
type Fake struct {
	SyncFunc           func(context.Context, netdev.HostSpec) error
	BridgeNetfilterOff bool

	mu    sync.Mutex
	spec  netdev.HostSpec
	Syncs int // number of successful Sync calls
}

var _ netdev.Driver = (*Fake)(nil)

// Spec returns the last synced spec.
func (f *Fake) Spec() netdev.HostSpec {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.spec
}

// Sync implements netdev.Driver.
func (f *Fake) Sync(ctx context.Context, spec netdev.HostSpec) error {
	if f.SyncFunc != nil {
		if err := f.SyncFunc(ctx, spec); err != nil {
			return err
		}
	}
	if err := spec.Validate(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.spec = spec
	f.Syncs++
	return nil
}

// EnsureNetwork implements netdev.Driver.
func (f *Fake) EnsureNetwork(ctx context.Context, n netdev.Network) error {
	if err := n.Validate(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.spec.Networks = slices.DeleteFunc(f.spec.Networks, func(x netdev.Network) bool { return x.ID == n.ID })
	f.spec.Networks = append(f.spec.Networks, n)
	return nil
}

// EnsureNamespace implements netdev.Driver.
func (f *Fake) EnsureNamespace(ctx context.Context, ns netdev.Namespace) error {
	if err := ns.Validate(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.spec.Namespaces = slices.DeleteFunc(f.spec.Namespaces, func(x netdev.Namespace) bool { return x.Name == ns.Name })
	f.spec.Namespaces = append(f.spec.Namespaces, ns)
	return nil
}

// DeleteLink implements netdev.Driver; it forgets a network by bridge name.
func (f *Fake) DeleteLink(ctx context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.spec.Networks = slices.DeleteFunc(f.spec.Networks, func(x netdev.Network) bool { return netdev.BridgeName(x.ID) == name })
	return nil
}

// DeleteNamespace implements netdev.Driver.
func (f *Fake) DeleteNamespace(ctx context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.spec.Namespaces = slices.DeleteFunc(f.spec.Namespaces, func(x netdev.Namespace) bool { return x.Name == name })
	return nil
}

// Status implements netdev.Driver, derived from the recorded spec.
func (f *Fake) Status(ctx context.Context) (netdev.HostStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var st netdev.HostStatus
	for _, n := range f.spec.Networks {
		br := netdev.BridgeName(n.ID)
		st.Links = append(st.Links, netdev.Link{Name: br, Kind: "bridge", MTU: n.MTU, Up: true})
		if n.VXLAN != nil {
			vx := netdev.VXLANName(n.ID)
			st.Links = append(st.Links, netdev.Link{Name: vx, Kind: "vxlan", MTU: n.MTU, Master: br, Up: true})
			if st.FDB == nil {
				st.FDB = map[string][]netip.Addr{}
			}
			st.FDB[vx] = slices.Clone(n.VXLAN.Remotes)
		}
		for _, t := range n.Taps {
			st.Links = append(st.Links, netdev.Link{Name: netdev.TapName(t.PortID), Kind: "tuntap", MAC: netdev.HostMAC(t.MAC), MTU: n.MTU, Master: br, Up: true})
		}
	}
	for _, ns := range f.spec.Namespaces {
		st.Namespaces = append(st.Namespaces, ns.Name)
		for _, i := range ns.Interfaces {
			st.Links = append(st.Links, netdev.Link{Name: netdev.VethName(i.PortID), Kind: "veth", MTU: i.MTU, Master: netdev.BridgeName(i.NetworkID), Up: true})
		}
	}
	slices.SortFunc(st.Links, func(a, b netdev.Link) int { return cmpString(a.Name, b.Name) })
	slices.Sort(st.Namespaces)
	return st, nil
}

// CheckBridgeNetfilter implements netdev.Driver.
func (f *Fake) CheckBridgeNetfilter(ctx context.Context) error {
	if f.BridgeNetfilterOff {
		return fmt.Errorf("fake: %w", netdev.ErrBridgeNetfilter)
	}
	return nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
