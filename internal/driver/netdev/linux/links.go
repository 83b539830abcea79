package linux

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/nubo-cloud/nubo/internal/driver/netdev"
	"github.com/nubo-cloud/nubo/internal/driver/netdev/netns"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ensureNetwork converges one bridge, its VXLAN device and taps, and
// returns the names of the devices that belong to it.
func (d *Driver) ensureNetwork(h *netlink.Handle, n netdev.Network) ([]string, error) {
	brName := netdev.BridgeName(n.ID)
	names := []string{brName}
	br, err := d.ensureLink(h, &netlink.Bridge{LinkAttrs: attrs(brName, n.MTU, nil)},
		func(l netlink.Link) bool { return l.Type() == "bridge" }, 0)
	if err != nil {
		return names, fmt.Errorf("network %s: %w", n.ID, err)
	}
	var errs []error
	if err := syncAddrs(h, br, n.Addresses); err != nil {
		errs = append(errs, fmt.Errorf("network %s: bridge %s: %w", n.ID, brName, err))
	}
	if v := n.VXLAN; v != nil {
		name := netdev.VXLANName(n.ID)
		names = append(names, name)
		if err := d.ensureVXLAN(h, name, n.MTU, br, v); err != nil {
			errs = append(errs, fmt.Errorf("network %s: %w", n.ID, err))
		}
	}
	if n.Uplink != "" {
		if err := ensureUplink(h, n.Uplink, br); err != nil {
			errs = append(errs, fmt.Errorf("network %s: %w", n.ID, err))
		}
	}
	want := map[string]bool{}
	for _, t := range n.Taps {
		name := netdev.TapName(t.PortID)
		names = append(names, name)
		want[name] = true
		mtu := t.MTU
		if mtu == 0 {
			mtu = n.MTU
		}
		tap := &netlink.Tuntap{
			LinkAttrs: attrs(name, mtu, netdev.HostMAC(t.MAC)),
			Mode:      netlink.TUNTAP_MODE_TAP,
			// Not multi-queue: QEMU must open it the same way. NO_PI and
			// VNET_HDR are renegotiated by QEMU when it attaches.
			Flags: netlink.TUNTAP_NO_PI | netlink.TUNTAP_VNET_HDR,
		}
		if _, err := d.ensureLink(h, tap, func(l netlink.Link) bool { return l.Type() == "tuntap" }, br.Attrs().Index); err != nil {
			errs = append(errs, fmt.Errorf("port %s: %w", t.PortID, err))
		}
	}
	// Taps left on this bridge by removed ports.
	all, err := dump(h.LinkList)
	if err != nil {
		errs = append(errs, err)
	}
	for _, l := range all {
		a := l.Attrs()
		if a.MasterIndex == br.Attrs().Index && l.Type() == "tuntap" && a.Alias == Alias && !want[a.Name] {
			d.log.Info("deleting stray tap", "device", a.Name)
			if err := h.LinkDel(l); err != nil && !isNotFound(err) {
				errs = append(errs, err)
			}
		}
	}
	return names, errors.Join(errs...)
}

func attrs(name string, mtu int, mac net.HardwareAddr) netlink.LinkAttrs {
	a := netlink.NewLinkAttrs()
	a.Name = name
	a.MTU = mtu
	a.HardwareAddr = mac
	return a
}

// ensureLink makes the device want exist with its name, MTU and MAC, the
// Nubo alias, master (a bridge index, 0 for none) and up. An existing
// device that fails same is deleted and created again.
func (d *Driver) ensureLink(h *netlink.Handle, want netlink.Link, same func(netlink.Link) bool, master int) (netlink.Link, error) {
	wa := want.Attrs()
	l, err := h.LinkByName(wa.Name)
	if err != nil && !isNotFound(err) {
		return nil, fmt.Errorf("look up %s: %w", wa.Name, err)
	}
	if err == nil && !same(l) {
		d.log.Info("recreating device", "device", wa.Name, "kind", l.Type())
		if err := h.LinkDel(l); err != nil {
			return nil, fmt.Errorf("delete %s: %w", wa.Name, err)
		}
		l = nil
	}
	if l == nil {
		if tap, ok := want.(*netlink.Tuntap); ok {
			// The tun ioctl creates the device in the calling thread's
			// namespace, so switch to the host namespace for it.
			err = netns.Do(d.cfg.HostNamespace, func() error {
				err := netlink.LinkAdd(tap)
				for _, f := range tap.Fds {
					f.Close()
				}
				return err
			})
		} else {
			err = h.LinkAdd(want)
		}
		if err != nil {
			return nil, fmt.Errorf("create %s %s: %w", want.Type(), wa.Name, err)
		}
		d.log.Debug("created device", "device", wa.Name, "kind", want.Type())
		if l, err = h.LinkByName(wa.Name); err != nil {
			return nil, fmt.Errorf("look up %s: %w", wa.Name, err)
		}
	}
	if err := setLink(h, l, Alias, wa.MTU, wa.HardwareAddr, master); err != nil {
		return nil, err
	}
	return l, nil
}

// setLink fixes alias, MTU, MAC and master, then sets the device up.
func setLink(h *netlink.Handle, l netlink.Link, alias string, mtu int, mac net.HardwareAddr, master int) error {
	a := l.Attrs()
	if a.Alias != alias {
		if err := h.LinkSetAlias(l, alias); err != nil {
			return fmt.Errorf("set alias of %s: %w", a.Name, err)
		}
	}
	if mtu > 0 && a.MTU != mtu {
		if err := h.LinkSetMTU(l, mtu); err != nil {
			return fmt.Errorf("set MTU of %s: %w", a.Name, err)
		}
	}
	if len(mac) > 0 && !bytes.Equal(a.HardwareAddr, mac) {
		if err := h.LinkSetHardwareAddr(l, mac); err != nil {
			return fmt.Errorf("set MAC of %s: %w", a.Name, err)
		}
	}
	if master > 0 && a.MasterIndex != master {
		if err := h.LinkSetMasterByIndex(l, master); err != nil {
			return fmt.Errorf("attach %s to bridge: %w", a.Name, err)
		}
	}
	if a.Flags&net.FlagUp == 0 {
		if err := h.LinkSetUp(l); err != nil {
			return fmt.Errorf("set %s up: %w", a.Name, err)
		}
	}
	return nil
}

func (d *Driver) ensureVXLAN(h *netlink.Handle, name string, mtu int, br netlink.Link, v *netdev.VXLAN) error {
	port := int(v.Port)
	if port == 0 {
		port = 4789
	}
	devIndex := 0
	if v.Device != "" {
		dev, err := h.LinkByName(v.Device)
		if err != nil {
			return fmt.Errorf("VXLAN underlay %s: %w", v.Device, err)
		}
		devIndex = dev.Attrs().Index
	}
	local := net.IP(v.Local.AsSlice())
	want := &netlink.Vxlan{
		LinkAttrs:    attrs(name, mtu, nil),
		VxlanId:      int(v.VNI),
		VtepDevIndex: devIndex,
		SrcAddr:      local,
		Port:         port,
		Learning:     false,
	}
	same := func(l netlink.Link) bool {
		x, ok := l.(*netlink.Vxlan)
		return ok && x.VxlanId == want.VxlanId && x.Port == port && x.SrcAddr.Equal(local) &&
			!x.Learning && (devIndex == 0 || x.VtepDevIndex == devIndex)
	}
	vx, err := d.ensureLink(h, want, same, br.Attrs().Index)
	if err != nil {
		return err
	}
	return syncFDB(h, vx.Attrs().Index, v.Remotes)
}

// ensureUplink makes an existing device a port of br and sets it up; it
// changes nothing else about it.
func ensureUplink(h *netlink.Handle, name string, br netlink.Link) error {
	l, err := h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("uplink %s: %w", name, err)
	}
	a := l.Attrs()
	if a.MasterIndex != br.Attrs().Index {
		if err := h.LinkSetMasterByIndex(l, br.Attrs().Index); err != nil {
			return fmt.Errorf("attach uplink %s to bridge: %w", name, err)
		}
	}
	if a.Flags&net.FlagUp == 0 {
		if err := h.LinkSetUp(l); err != nil {
			return fmt.Errorf("set uplink %s up: %w", name, err)
		}
	}
	return nil
}

var zeroMAC = net.HardwareAddr{0, 0, 0, 0, 0, 0}

func fdbEntry(index int, remote netip.Addr) *netlink.Neigh {
	return &netlink.Neigh{
		LinkIndex:    index,
		Family:       unix.AF_BRIDGE,
		State:        netlink.NUD_PERMANENT | netlink.NUD_NOARP,
		Flags:        netlink.NTF_SELF,
		IP:           net.IP(remote.AsSlice()),
		HardwareAddr: zeroMAC,
	}
}

// syncFDB keeps the all-zero (flood) entries of a VXLAN device equal to
// remotes: head-end replication to every other VTEP.
func syncFDB(h *netlink.Handle, index int, remotes []netip.Addr) error {
	have, err := fdbRemotes(h, index)
	if err != nil {
		return err
	}
	haveSet := map[netip.Addr]bool{}
	for _, a := range have {
		haveSet[a] = true
	}
	wantSet := map[netip.Addr]bool{}
	var errs []error
	for _, r := range remotes {
		r = r.Unmap()
		wantSet[r] = true
		if !haveSet[r] {
			if err := h.NeighAppend(fdbEntry(index, r)); err != nil {
				errs = append(errs, fmt.Errorf("add FDB entry to %v: %w", r, err))
			}
		}
	}
	for _, r := range have {
		if !wantSet[r] {
			if err := h.NeighDel(fdbEntry(index, r)); err != nil {
				errs = append(errs, fmt.Errorf("delete FDB entry to %v: %w", r, err))
			}
		}
	}
	return errors.Join(errs...)
}

func fdbRemotes(h *netlink.Handle, index int) ([]netip.Addr, error) {
	neighs, err := dump(func() ([]netlink.Neigh, error) { return h.NeighList(index, unix.AF_BRIDGE) })
	if err != nil {
		return nil, fmt.Errorf("list FDB: %w", err)
	}
	var out []netip.Addr
	for _, n := range neighs {
		if n.LinkIndex != index || len(n.IP) == 0 || !bytes.Equal(n.HardwareAddr, zeroMAC) {
			continue
		}
		if a, ok := netip.AddrFromSlice(n.IP); ok {
			out = append(out, a.Unmap())
		}
	}
	return out, nil
}
