package netdev

import (
	"fmt"
	"net"
	"strings"
)

// Interface names are at most 15 bytes (IFNAMSIZ-1); IDs are shortened to
// 11 characters as Neutron does ("tap" + 11).
const idLen = 11

// Namespace name prefixes, as in Neutron.
const (
	RouterNamespacePrefix = "qrouter-"
	DHCPNamespacePrefix   = "qdhcp-"
)

func short(id string) string {
	id = strings.ReplaceAll(id, "-", "")
	if len(id) > idLen {
		id = id[:idLen]
	}
	return id
}

// BridgeName is the bridge of a network: "nb-" + 11 characters of the ID.
func BridgeName(networkID string) string { return "nb-" + short(networkID) }

// VXLANName is the VXLAN device of a network.
func VXLANName(networkID string) string { return "vx-" + short(networkID) }

// TapName is the tap device of a port.
func TapName(portID string) string { return "tap" + short(portID) }

// VethName is the host-namespace leg of a namespace interface.
func VethName(portID string) string { return "nv-" + short(portID) }

// RouterPortName is a router's leg on an internal subnet.
func RouterPortName(portID string) string { return "qr-" + short(portID) }

// GatewayPortName is a router's leg on the external network.
func GatewayPortName(portID string) string { return "qg-" + short(portID) }

// DHCPPortName is a DHCP server's leg on its network.
func DHCPPortName(portID string) string { return "ns-" + short(portID) }

// RouterNamespace names a router's namespace.
func RouterNamespace(routerID string) string { return RouterNamespacePrefix + routerID }

// DHCPNamespace names a network's DHCP namespace.
func DHCPNamespace(networkID string) string { return DHCPNamespacePrefix + networkID }

// HostMAC is the address a tap gets for a guest MAC: the same bytes with
// the first octet 0xfe (locally administered, unicast), as libvirt does.
func HostMAC(guest net.HardwareAddr) net.HardwareAddr {
	if len(guest) != 6 {
		return nil
	}
	m := append(net.HardwareAddr(nil), guest...)
	m[0] = 0xfe
	return m
}

func validName(n string) error {
	if n == "" || len(n) > 15 {
		return fmt.Errorf("interface name %q: want 1..15 bytes", n)
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("interface name %q: invalid character %q", n, c)
		}
	}
	return nil
}

// Validate checks names, uniqueness and references; Sync calls it.
func (s HostSpec) Validate() error {
	links := map[string]string{}
	claim := func(name, what string) error {
		if err := validName(name); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if prev, ok := links[name]; ok {
			return fmt.Errorf("%s: device %s already used by %s", what, name, prev)
		}
		links[name] = what
		return nil
	}
	nets := map[string]bool{}
	for _, n := range s.Networks {
		if err := n.Validate(); err != nil {
			return err
		}
		if nets[n.ID] {
			return fmt.Errorf("network %s listed twice", n.ID)
		}
		nets[n.ID] = true
		if err := claim(BridgeName(n.ID), "network "+n.ID); err != nil {
			return err
		}
		if n.VXLAN != nil {
			if err := claim(VXLANName(n.ID), "network "+n.ID); err != nil {
				return err
			}
		}
		if n.Uplink != "" {
			if err := claim(n.Uplink, "uplink of network "+n.ID); err != nil {
				return err
			}
		}
		for _, t := range n.Taps {
			if err := claim(TapName(t.PortID), "port "+t.PortID); err != nil {
				return err
			}
		}
	}
	nss := map[string]bool{}
	for _, ns := range s.Namespaces {
		if err := ns.Validate(); err != nil {
			return err
		}
		if nss[ns.Name] {
			return fmt.Errorf("namespace %s listed twice", ns.Name)
		}
		nss[ns.Name] = true
		for _, i := range ns.Interfaces {
			if !nets[i.NetworkID] {
				return fmt.Errorf("namespace %s interface %s: network %s not in the spec", ns.Name, i.Name, i.NetworkID)
			}
			if err := claim(VethName(i.PortID), "port "+i.PortID); err != nil {
				return err
			}
		}
	}
	return nil
}

// Validate checks one network.
func (n Network) Validate() error {
	if short(n.ID) == "" {
		return fmt.Errorf("network: empty ID")
	}
	if n.MTU < 0 || n.MTU > 65535 {
		return fmt.Errorf("network %s: MTU %d out of range", n.ID, n.MTU)
	}
	if v := n.VXLAN; v != nil {
		if v.VNI == 0 || v.VNI > 1<<24-1 {
			return fmt.Errorf("network %s: VNI %d out of range", n.ID, v.VNI)
		}
		if !v.Local.IsValid() {
			return fmt.Errorf("network %s: VXLAN needs a local address", n.ID)
		}
		for _, r := range v.Remotes {
			if !r.IsValid() || r.Is4() != v.Local.Is4() {
				return fmt.Errorf("network %s: remote VTEP %v does not match local %v", n.ID, r, v.Local)
			}
		}
	}
	if n.Uplink != "" {
		if err := validName(n.Uplink); err != nil {
			return fmt.Errorf("network %s: uplink: %w", n.ID, err)
		}
	}
	if n.VXLAN != nil && n.Uplink != "" {
		return fmt.Errorf("network %s: both VXLAN and an uplink", n.ID)
	}
	for _, a := range n.Addresses {
		if !a.IsValid() {
			return fmt.Errorf("network %s: invalid bridge address", n.ID)
		}
	}
	for _, t := range n.Taps {
		if short(t.PortID) == "" {
			return fmt.Errorf("network %s: tap with empty port ID", n.ID)
		}
		if len(t.MAC) != 6 {
			return fmt.Errorf("port %s: MAC %v is not 6 bytes", t.PortID, t.MAC)
		}
	}
	return nil
}

// Validate checks one namespace.
func (ns Namespace) Validate() error {
	if ns.Name == "" || strings.ContainsAny(ns.Name, "/\x00 ") {
		return fmt.Errorf("namespace %q: invalid name", ns.Name)
	}
	inside := map[string]bool{"lo": true}
	for _, i := range ns.Interfaces {
		if err := validName(i.Name); err != nil {
			return fmt.Errorf("namespace %s: %w", ns.Name, err)
		}
		if inside[i.Name] {
			return fmt.Errorf("namespace %s: interface %s listed twice", ns.Name, i.Name)
		}
		inside[i.Name] = true
		if short(i.PortID) == "" {
			return fmt.Errorf("namespace %s interface %s: empty port ID", ns.Name, i.Name)
		}
		if i.MAC != nil && len(i.MAC) != 6 {
			return fmt.Errorf("namespace %s interface %s: MAC %v is not 6 bytes", ns.Name, i.Name, i.MAC)
		}
	}
	for _, r := range ns.Routes {
		if !r.Dst.IsValid() {
			return fmt.Errorf("namespace %s: route without destination", ns.Name)
		}
		if !r.Via.IsValid() && r.Dev == "" {
			return fmt.Errorf("namespace %s: route to %v needs Via or Dev", ns.Name, r.Dst)
		}
		if r.Dev != "" && !inside[r.Dev] {
			return fmt.Errorf("namespace %s: route to %v via unknown device %s", ns.Name, r.Dst, r.Dev)
		}
	}
	for _, p := range ns.Loopback {
		if !p.IsValid() {
			return fmt.Errorf("namespace %s: invalid loopback address", ns.Name)
		}
	}
	return nil
}
