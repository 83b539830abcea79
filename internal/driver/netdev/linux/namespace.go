package linux

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/nubo-cloud/nubo/internal/driver/netdev"
	"github.com/nubo-cloud/nubo/internal/driver/netdev/netns"
	"github.com/vishvananda/netlink"
	vns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// ensureNamespace converges a namespace, its veth legs, addresses, routes
// and sysctls. h is the host-namespace handle.
func (d *Driver) ensureNamespace(h *netlink.Handle, ns netdev.Namespace) error {
	if err := netns.Create(ns.Name); err != nil {
		return err
	}
	nsh, err := netns.Open(ns.Name)
	if err != nil {
		return err
	}
	defer nsh.Close()
	nh, err := netlink.NewHandleAt(nsh)
	if err != nil {
		return fmt.Errorf("namespace %s: %w", ns.Name, err)
	}
	defer nh.Close()

	wrap := func(err error) error { return fmt.Errorf("namespace %s: %w", ns.Name, err) }
	var errs []error
	lo, err := nh.LinkByName("lo")
	if err != nil {
		return wrap(err)
	}
	if err := nh.LinkSetUp(lo); err != nil {
		return wrap(err)
	}
	// Keep the kernel's 127.0.0.1/8 and ::1/128 on lo.
	loAddrs := append([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/8"), netip.MustParsePrefix("::1/128")}, ns.Loopback...)
	if err := syncAddrs(nh, lo, loAddrs); err != nil {
		errs = append(errs, wrap(err))
	}

	inside := map[string]bool{"lo": true}
	for _, i := range ns.Interfaces {
		inside[i.Name] = true
		if err := d.ensureVeth(h, nh, nsh, ns.Name, i); err != nil {
			errs = append(errs, wrap(err))
		}
	}
	all, err := dump(nh.LinkList)
	if err != nil {
		errs = append(errs, wrap(err))
	}
	for _, l := range all {
		if !inside[l.Attrs().Name] {
			if err := nh.LinkDel(l); err != nil && !isNotFound(err) {
				errs = append(errs, wrap(err))
			}
		}
	}
	fwd := "0"
	if ns.Forwarding {
		fwd = "1"
	}
	for _, key := range []string{"net/ipv4/ip_forward", "net/ipv6/conf/all/forwarding"} {
		if err := writeSysctl(ns.Name, key, fwd); err != nil {
			errs = append(errs, err)
		}
	}
	if err := syncRoutes(nh, ns.Routes); err != nil {
		errs = append(errs, wrap(err))
	}
	return errors.Join(errs...)
}

// ensureVeth converges one veth pair: VethName(port) on the bridge in the
// host namespace, i.Name inside.
func (d *Driver) ensureVeth(h, nh *netlink.Handle, nsh vns.NsHandle, nsName string, i netdev.Interface) error {
	hostName := netdev.VethName(i.PortID)
	br, err := h.LinkByName(netdev.BridgeName(i.NetworkID))
	if err != nil {
		return fmt.Errorf("interface %s: bridge of network %s: %w", i.Name, i.NetworkID, err)
	}
	hostL, herr := h.LinkByName(hostName)
	inL, ierr := nh.LinkByName(i.Name)
	if herr != nil && !isNotFound(herr) {
		return herr
	}
	if ierr != nil && !isNotFound(ierr) {
		return ierr
	}
	paired := herr == nil && ierr == nil && hostL.Type() == "veth" && inL.Type() == "veth" &&
		hostL.Attrs().ParentIndex == inL.Attrs().Index && inL.Attrs().ParentIndex == hostL.Attrs().Index
	if !paired {
		// Half a pair, or a pair with another peer: start over.
		if herr == nil {
			_ = h.LinkDel(hostL)
		}
		if ierr == nil {
			_ = nh.LinkDel(inL)
		}
		veth := &netlink.Veth{
			LinkAttrs:        attrs(hostName, i.MTU, nil),
			PeerName:         i.Name,
			PeerHardwareAddr: i.MAC,
			PeerNamespace:    netlink.NsFd(int(nsh)),
		}
		if err := h.LinkAdd(veth); err != nil {
			return fmt.Errorf("create veth %s/%s: %w", hostName, i.Name, err)
		}
		if hostL, err = h.LinkByName(hostName); err != nil {
			return err
		}
		if inL, err = nh.LinkByName(i.Name); err != nil {
			return err
		}
	}
	if err := setLink(h, hostL, Alias, i.MTU, nil, br.Attrs().Index); err != nil {
		return err
	}
	if err := setLink(nh, inL, Alias, i.MTU, i.MAC, 0); err != nil {
		return err
	}
	if err := syncAddrs(nh, inL, i.Addresses); err != nil {
		return fmt.Errorf("interface %s: %w", i.Name, err)
	}
	rl := "0"
	if i.RouteLocalnet {
		rl = "1"
	}
	return writeSysctl(nsName, "net/ipv4/conf/"+i.Name+"/route_localnet", rl)
}

func toIPNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

func fromIPNet(n *net.IPNet) (netip.Prefix, bool) {
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), ones), true
}

// syncAddrs keeps the addresses of l equal to want (IPv6 link-local aside).
func syncAddrs(nh *netlink.Handle, l netlink.Link, want []netip.Prefix) error {
	have, err := dump(func() ([]netlink.Addr, error) { return nh.AddrList(l, netlink.FAMILY_ALL) })
	if err != nil {
		return fmt.Errorf("list addresses: %w", err)
	}
	haveSet := map[netip.Prefix]bool{}
	var errs []error
	wantSet := map[netip.Prefix]bool{}
	for _, p := range want {
		wantSet[netip.PrefixFrom(p.Addr().Unmap(), p.Bits())] = true
	}
	for _, a := range have {
		p, ok := fromIPNet(a.IPNet)
		if !ok || p.Addr().IsLinkLocalUnicast() {
			continue
		}
		haveSet[p] = true
		if !wantSet[p] {
			if err := nh.AddrDel(l, &a); err != nil {
				errs = append(errs, fmt.Errorf("delete address %v: %w", p, err))
			}
		}
	}
	for p := range wantSet {
		if haveSet[p] {
			continue
		}
		// No duplicate address detection: the control plane allocated it.
		addr := &netlink.Addr{IPNet: toIPNet(p), Flags: unix.IFA_F_NODAD}
		if err := nh.AddrReplace(l, addr); err != nil {
			errs = append(errs, fmt.Errorf("add address %v: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

type routeKey struct {
	dst netip.Prefix
	via netip.Addr
	dev int
}

// syncRoutes keeps the static (proto static) routes of the main table
// equal to want; kernel routes of connected subnets are left alone.
func syncRoutes(nh *netlink.Handle, want []netdev.Route) error {
	filter := &netlink.Route{Table: unix.RT_TABLE_MAIN, Protocol: unix.RTPROT_STATIC}
	have, err := dump(func() ([]netlink.Route, error) {
		return nh.RouteListFiltered(netlink.FAMILY_ALL, filter, netlink.RT_FILTER_TABLE|netlink.RT_FILTER_PROTOCOL)
	})
	if err != nil {
		return fmt.Errorf("list routes: %w", err)
	}
	var errs []error
	wantSet := map[routeKey]*netlink.Route{}
	for _, r := range want {
		nr := &netlink.Route{Dst: toIPNet(r.Dst), Table: unix.RT_TABLE_MAIN, Protocol: unix.RTPROT_STATIC}
		k := routeKey{dst: r.Dst.Masked()}
		if r.Via.IsValid() {
			nr.Gw = net.IP(r.Via.AsSlice())
			k.via = r.Via.Unmap()
		}
		if r.Dev != "" {
			l, err := nh.LinkByName(r.Dev)
			if err != nil {
				errs = append(errs, fmt.Errorf("route to %v: device %s: %w", r.Dst, r.Dev, err))
				continue
			}
			nr.LinkIndex = l.Attrs().Index
			k.dev = nr.LinkIndex
		} else {
			nr.Scope = netlink.SCOPE_UNIVERSE
		}
		wantSet[k] = nr
	}
	haveSet := map[routeKey]bool{}
	for _, r := range have {
		k := routeKey{}
		if r.Dst != nil {
			k.dst, _ = fromIPNet(r.Dst)
		} else if r.Family == unix.AF_INET6 {
			k.dst = netip.MustParsePrefix("::/0")
		} else {
			k.dst = netip.MustParsePrefix("0.0.0.0/0")
		}
		if a, ok := netip.AddrFromSlice(r.Gw); ok {
			k.via = a.Unmap()
		}
		// Routes given without a device match whatever device the kernel chose.
		kNoDev := k
		if _, ok := wantSet[kNoDev]; ok {
			haveSet[kNoDev] = true
			continue
		}
		k.dev = r.LinkIndex
		if _, ok := wantSet[k]; ok {
			haveSet[k] = true
			continue
		}
		r := r
		if err := nh.RouteDel(&r); err != nil {
			errs = append(errs, fmt.Errorf("delete route to %v: %w", k.dst, err))
		}
	}
	for k, nr := range wantSet {
		if haveSet[k] {
			continue
		}
		if err := nh.RouteReplace(nr); err != nil {
			errs = append(errs, fmt.Errorf("add route to %v: %w", k.dst, err))
		}
	}
	return errors.Join(errs...)
}
